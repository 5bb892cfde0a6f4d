"""Conformance with a client nobody here wrote: p4runtime-shell drives our P4Runtime server.

p4runtime-shell lives in its own venv (.venv-p4rt-shell, made by
scripts/setup.sh) because it pins protobuf < 3.21.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sim.p4build import BMV2_JSON_PATH, P4INFO_PATH
from sim.p4rt_server.model_dataplane import ModelDataPlane
from sim.p4rt_server.server import P4RuntimeServer
from tests.needs import needs_p4info

ROOT = Path(__file__).resolve().parents[2]
SHELL_PYTHON = ROOT / ".venv-p4rt-shell" / "bin" / "python"
CLIENT = ROOT / "tests" / "tools" / "p4runtime_shell_client.py"


async def run_shell_against(server: P4RuntimeServer) -> tuple[int, str]:
    port = await server.start("127.0.0.1:0")
    try:
        proc = await asyncio.create_subprocess_exec(
            str(SHELL_PYTHON),
            str(CLIENT),
            f"127.0.0.1:{port}",
            str(P4INFO_PATH),
            str(BMV2_JSON_PATH),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
        except TimeoutError:
            proc.kill()
            output, _ = await proc.communicate()
            return -1, output.decode(errors="replace") + "\n(timed out)"
        return proc.returncode or 0, output.decode(errors="replace")
    finally:
        await server.stop()


@needs_p4info
def test_p4runtime_shell_inserts_reads_modifies_deletes_and_reads_counters_on_the_model_target():
    assert SHELL_PYTHON.exists(), f"{SHELL_PYTHON} missing: run scripts/setup.sh"
    returncode, output = asyncio.run(run_shell_against(P4RuntimeServer(ModelDataPlane())))
    checks = [line for line in output.splitlines() if line.startswith(("ok ", "FAIL "))]
    sys.stdout.write("\n".join(checks))
    assert returncode == 0, output[-3000:]
    assert not any(line.startswith("FAIL") for line in checks)
    assert len(checks) == 29  # 5 tables x their checks + 4 counters
