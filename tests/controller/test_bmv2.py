"""The controller against BMv2 (``simple_switch_grpc``): programming, switch restart, controller restart.

Skipped when simple_switch_grpc is not on PATH. BMv2 runs with no
interfaces here (tables and reconciliation only); traffic through BMv2 is
covered by the network tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import finsy.switch
import pytest

from controller.clock import AsyncioClock
from controller.config import parse_config
from controller.p4rt import P4RuntimeDataplane, PipelineFiles
from controller.router import Router
from sim.model.codes import CPU_PORT
from sim.p4build import BMV2_JSON_PATH, P4INFO_PATH
from tests.needs import needs_bmv2_json, needs_p4info

from .conftest import ROUTER_TOML

pytestmark = [
    needs_p4info,
    needs_bmv2_json,
    pytest.mark.bmv2,
    pytest.mark.skipif(
        shutil.which("simple_switch_grpc") is None, reason="simple_switch_grpc is not on PATH"
    ),
]
CONFIG = parse_config(ROUTER_TOML, "r1.toml")
PIPELINE = PipelineFiles(P4INFO_PATH, BMV2_JSON_PATH)
TIMEOUT = 30.0


@pytest.fixture(autouse=True)
def quick_retry(monkeypatch):
    monkeypatch.setattr(finsy.switch, "_FAIL_THROTTLE_SECS", 0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def bmv2(port: int, tmp_path) -> Iterator[None]:
    command = [
        "simple_switch_grpc", "--no-p4", "--device-id", "1", "--thrift-port", str(_free_port()),
        "--log-file", str(tmp_path / f"bmv2-{time.monotonic_ns()}"),
        "--", f"--grpc-server-addr=127.0.0.1:{port}", f"--cpu-port={CPU_PORT}",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(TIMEOUT)


async def _in_sync(session: P4RuntimeDataplane) -> None:
    await asyncio.wait_for(session.synced.wait(), TIMEOUT)
    while session._dirty or session.installed != session.desired:
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def controller(port: int, election_id: int = 10):
    session = P4RuntimeDataplane(f"127.0.0.1:{port}", PIPELINE, election_id=election_id)
    router = Router(CONFIG, AsyncioClock(), session)
    router.start()
    task = asyncio.create_task(session.run(router.handle_packet_in, on_synced=router.connected))
    try:
        await _in_sync(session)
        yield router, session
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_bmv2_holds_the_intent_and_gets_it_back_after_a_restart(tmp_path):
    port = _free_port()

    async def scenario():
        with bmv2(port, tmp_path):
            async with controller(port) as (router, session):
                assert await session.read_entries() == router.intent()
            # A second controller (restart) finds everything right and writes nothing.
            async with controller(port, election_id=11) as (router, session):
                assert session.counters["reconcile_updates"] == 0
        with bmv2(port, tmp_path):  # a fresh switch: no pipeline, no entries
            async with controller(port, election_id=12) as (router, session):
                assert session.counters["reconcile_updates"] == len(router.intent())
                assert await session.read_entries() == router.intent()

    asyncio.run(scenario())
