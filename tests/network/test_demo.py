"""``twinrouter demo`` as a user runs it: start to finish, and interrupted with Ctrl-C half-way."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.networks.topology import line3
from tests.needs import needs_p4info

pytestmark = [pytest.mark.network, needs_p4info]

TWINROUTER = [sys.executable, "-m", "controller.cli"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the demo needs root (network namespaces); run the tests as root")


def demo(*args: str) -> subprocess.Popen[str]:
    # A session of its own, as a terminal's foreground job would be: Ctrl-C goes to its group.
    return subprocess.Popen(
        [*TWINROUTER, "demo", "--topology", "line", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=dict(os.environ, COLUMNS="120"),
    )


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def root_interfaces() -> set[str]:
    output = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in output.splitlines()}


def test_the_demo_runs_start_to_finish_and_reports_every_check_passed(tmp_path: Path) -> None:
    process = demo("--run-dir", str(tmp_path))
    output, _ = process.communicate(timeout=900)
    assert process.returncode == 0, output
    assert "all checks passed" in output
    assert "OSPF convergence" in output and "r1 → r2 → r3 → h2" in output
    assert "no processes, namespaces or interfaces left" in output
    assert processes_mentioning(str(tmp_path)) == []


def test_ctrl_c_while_ospf_converges_tears_everything_down(tmp_path: Path) -> None:
    process = demo("--run-dir", str(tmp_path))
    assert process.stdout is not None
    # Read the pipe itself, not through the text wrapper: readline() can pull lines
    # past the one returned into the wrapper's buffer, where select() cannot see them,
    # and "OSPF converging" was then noticed only once the demo was tearing down (with
    # Ctrl-C ignored), so the interrupt came too late to test anything.
    pipe = process.stdout.fileno()
    seen, deadline = "", time.monotonic() + 900
    while "OSPF converging" not in seen:
        assert time.monotonic() < deadline and process.poll() is None, seen
        ready, _, _ = select.select([pipe], [], [], 1.0)
        if ready:
            seen += os.read(pipe, 65536).decode(errors="replace")
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, seen + output
    assert "no processes, namespaces or interfaces left" in output
    assert processes_mentioning(str(tmp_path)) == []
    topology = line3()
    ours = {p.ifname for r in topology.routers for p in topology.ports(r.name)}
    assert not ours & root_interfaces()
