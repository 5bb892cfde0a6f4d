"""``twinrouter controller``: one router's control plane, attached to one P4Runtime switch.

The configuration is validated before anything else; a bad file exits with
status 2 and the switch is never contacted. Then the router's state is
built, the P4Runtime session started (it reconnects by itself), and the
status socket opened for ``twinrouter show``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from sim.p4build import BMV2_JSON_PATH, P4INFO_PATH

from .clock import AsyncioClock
from .config import ConfigError, RouterConfig, load_config
from .intent import Entries, Table
from .ospf.speaker import attach_ospf, check_ospf_config
from .p4rt import P4RuntimeDataplane, PipelineFiles
from .router import Router
from .status import DEFAULT_RUN_DIR, StatusServer, register_router_views, socket_path

log = logging.getLogger(__name__)

TARGET_KINDS = ("bmv2", "hdl")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="the router's TOML file")
    parser.add_argument("--target", default="127.0.0.1:9559", help="P4Runtime address host:port")
    parser.add_argument(
        "--target-kind",
        choices=TARGET_KINDS,
        default="bmv2",
        help="bmv2: push the P4Info and router.json; hdl: push the P4Info only (fixed pipeline)",
    )
    parser.add_argument("--p4info", type=Path, default=P4INFO_PATH, help="P4Info text file")
    parser.add_argument("--device-config", type=Path, default=BMV2_JSON_PATH, help="BMv2 JSON (bmv2 only)")
    parser.add_argument("--device-id", type=int, default=1)
    parser.add_argument("--election-id", type=int, default=10, help="higher wins arbitration")
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="where the status socket goes")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        check_ospf_config(config)
    except ConfigError as error:
        print(f"twinrouter controller: {error}", file=sys.stderr)
        return 2
    device_config = args.device_config if args.target_kind == "bmv2" else None
    for path in (args.p4info, device_config):
        if path is not None and not path.is_file():
            print(f"twinrouter controller: {path}: no such file", file=sys.stderr)
            return 2
    pipeline = PipelineFiles(args.p4info, device_config)
    asyncio.run(serve(config, args.target, pipeline, args.device_id, args.election_id, args.run_dir))
    return 0


async def serve(
    config: RouterConfig,
    target: str,
    pipeline: PipelineFiles,
    device_id: int = 1,
    election_id: int = 10,
    run_dir: Path = DEFAULT_RUN_DIR,
) -> None:
    """Run until SIGINT/SIGTERM (or cancellation)."""
    session = P4RuntimeDataplane(target, pipeline, device_id=device_id, election_id=election_id)
    router = Router(config, AsyncioClock(), session)
    router.start()
    status = StatusServer(socket_path(run_dir, target))
    register_views(status, router, session)
    attach_ospf(router, status)
    await status.start()
    freeze_startup_objects()
    log.info("controller for %s up; status on %s", target, status.path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(
        session.run(router.handle_packet_in, lambda found: adopt(router, found), router.connected)
    )
    try:
        await stop.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await status.stop()


def freeze_startup_objects() -> None:
    """Keep what start-up allocated (modules, the P4Info, the config) out of the collector's full passes.

    None of it ever dies, and a full collection walks every tracked
    object: without this, one that falls into a bulk route installation
    (an OSPF table, a reconcile) walks some 100,000 objects and stalls the
    writes for tens of milliseconds.
    """
    gc.collect()
    gc.freeze()


def adopt(router: Router, found: Entries) -> None:
    """Keep the neighbours a restarted controller finds on the switch (they are re-verified by ARP)."""
    for (table, key), value in found.items():
        if table is Table.ARP:
            router.arp.adopt(key, value)  # type: ignore[arg-type]


def register_views(status: StatusServer, router: Router, session: P4RuntimeDataplane) -> None:
    """The router's views, with ``counters`` extended by the switch's counters and refusals."""
    register_router_views(status, router)

    async def counters() -> Any:
        switch = await session.read_counters() if session.synced.is_set() else {}
        return {
            "switch": {
                name: {str(i): list(v) for i, v in cells.items() if v[0]} for name, cells in switch.items()
            },
            "controller": dict(router.counters) | dict(session.counters),
            "rejected": {f"{t.value} {k}": why for (t, k), why in session.rejected.items()},
        }

    status.register("counters", counters)
