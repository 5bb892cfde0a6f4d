"""``twinrouter controller`` as a process, against our P4Runtime server on the reference model."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys

from controller.intent import entries_of
from sim.p4build import P4INFO_PATH
from sim.p4rt_server.model_dataplane import ModelDataPlane
from sim.p4rt_server.server import P4RuntimeServer
from tests.needs import needs_p4info

from .conftest import ROUTER_TOML

pytestmark = needs_p4info
TIMEOUT = 30.0


async def _twinrouter(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller.cli", *args, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
    return process.returncode, out.decode()


def test_the_controller_process_programs_the_switch_serves_show_and_stops_on_sigterm(tmp_path):
    config = tmp_path / "r1.toml"
    config.write_text(ROUTER_TOML)
    run_dir = tmp_path / "run"

    async def scenario():
        dataplane = ModelDataPlane(num_ports=4)
        server = P4RuntimeServer(dataplane)
        port = await server.start("127.0.0.1:0")
        target = f"127.0.0.1:{port}"
        controller = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controller.cli", "controller", "--config", str(config),
            "--target", target, "--target-kind", "hdl", "--p4info", str(P4INFO_PATH),
            "--run-dir", str(run_dir),
        )  # fmt: skip
        try:
            # The intent reaches the switch: interfaces, connected, broadcast and static routes.
            for _ in range(int(TIMEOUT / 0.05)):
                if len(dataplane.table_state().routes) == 6:
                    break
                await asyncio.sleep(0.05)
            code, out = await _twinrouter(
                "show", "routes", "--json", "--target", target, "--run-dir", str(run_dir)
            )
            assert code == 0
            shown = {(r["prefix"], r["source"]) for r in json.loads(out) if r["selected"]}
            assert shown == {(str(p), s) for p, s in _expected_routes()}
            assert {str(p) for p in dataplane.table_state().routes} == {p for p, _ in shown}
            code, out = await _twinrouter("show", "counters", "--target", target, "--run-dir", str(run_dir))
            assert code == 0 and "ingress.rx_port" in out and "arp_gratuitous_sent" in out
            assert len(entries_of(dataplane.table_state())) == 4 + 2 + 6
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(controller.pid, signal.SIGTERM)
            code = await asyncio.wait_for(controller.wait(), TIMEOUT)
            await server.stop()
        assert code == 0
        assert not any(run_dir.iterdir())  # the status socket is gone

    asyncio.run(scenario())


def _expected_routes():
    return [
        ("10.0.1.0/24", "connected"),
        ("10.0.1.255/32", "connected"),
        ("10.0.2.0/24", "connected"),
        ("10.0.2.255/32", "connected"),
        ("192.168.0.0/16", "static"),
        ("10.99.0.0/16", "static"),
    ]
