"""FRR's ospfd (with zebra) inside a network namespace: its own config directory, stopped by PID.

Debian's ``frr`` package provides the daemons; they run as the ``frr``
user (its vty group is compiled in), so the working directory is handed
to that user. Nothing is left behind: both processes are terminated by
their PIDs (killed if they linger) and the directory is removed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from sim.netns import Namespace

FRR_DAEMONS = Path("/usr/lib/frr")


@dataclass(frozen=True)
class FrrInterface:
    name: str
    network: str = "broadcast"  # or "point-to-point"
    hello_interval: int = 1
    dead_interval: int = 4
    priority: int = 1
    passive: bool = False
    #: "dead-interval minimal hello-multiplier N": 1-second dead interval, N hellos a second
    hello_multiplier: int | None = None


@dataclass
class FrrOspf(contextlib.AbstractContextManager["FrrOspf"]):
    namespace: Namespace
    router_id: str
    interfaces: list[FrrInterface]
    networks: list[str]  # "network ... area 0" statements
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="twinrouter-frr-")))

    def config(self) -> str:
        lines = ["hostname frr", f"log file {self.workdir}/ospfd.log informational", "!"]
        for interface in self.interfaces:
            lines += [
                f"interface {interface.name}",
                f" ip ospf network {interface.network}",
                *(
                    [f" ip ospf dead-interval minimal hello-multiplier {interface.hello_multiplier}"]
                    if interface.hello_multiplier
                    else [
                        f" ip ospf hello-interval {interface.hello_interval}",
                        f" ip ospf dead-interval {interface.dead_interval}",
                    ]
                ),
                f" ip ospf priority {interface.priority}",
                "!",
            ]
        lines += ["router ospf", f" ospf router-id {self.router_id}"]
        lines += [f" network {network} area 0" for network in self.networks]
        lines += [f" passive-interface {i.name}" for i in self.interfaces if i.passive]
        return "\n".join([*lines, "!", ""])

    def start(self) -> FrrOspf:
        (self.workdir / "zebra.conf").write_text("hostname frr\n")
        (self.workdir / "ospfd.conf").write_text(self.config())
        shutil.chown(self.workdir, "frr", "frr")
        for path in self.workdir.iterdir():
            shutil.chown(path, "frr", "frr")
        zserv = self.workdir / "zserv.api"
        self._daemon("zebra")
        _wait_for(zserv.exists, 10, "zebra's socket")
        self._daemon("ospfd")
        _wait_for(lambda: (self.workdir / "ospfd.vty").exists(), 10, "ospfd's vty socket")
        return self

    def _daemon(self, name: str) -> None:
        command = [
            "ip",
            "netns",
            "exec",
            self.namespace.name,
            str(FRR_DAEMONS / name),
            "-f",
            str(self.workdir / f"{name}.conf"),
            "-i",
            str(self.workdir / f"{name}.pid"),
            "-z",
            str(self.workdir / "zserv.api"),
            "--vty_socket",
            str(self.workdir),
            "-u",
            "frr",
            "-g",
            "frr",
        ]
        # `ip netns exec` execs the daemon: this PID is the daemon's.
        self.processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def vtysh_json(self, command: str) -> Any:
        result = subprocess.run(
            ["vtysh", "--vty_socket", str(self.workdir), "-d", "ospfd", "-c", f"{command} json"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return json.loads(result.stdout or "{}")

    def neighbors(self) -> dict[str, dict[str, Any]]:
        """Neighbour router id -> FRR's record of it."""
        data = self.vtysh_json("show ip ospf neighbor")
        return {router_id: entries[0] for router_id, entries in data.get("neighbors", {}).items()}

    def router_lsas(self) -> dict[str, tuple[int, int]]:
        """Router-LSA id -> (sequence number, checksum) in FRR's database."""
        data = self.vtysh_json("show ip ospf database router")
        found = {}
        for area in data.get("routerLinkStates", {}).get("areas", {}).values():
            for lsa in area:
                found[lsa["linkStateId"]] = (int(lsa["lsaSeqNumber"], 16), int(lsa["checksum"], 16))
        return found

    def log(self) -> str:
        path = self.workdir / "ospfd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"FRR: no {what} after {timeout} s")
        time.sleep(0.05)
