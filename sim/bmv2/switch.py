"""One ``simple_switch_grpc`` process, its ports bound to veths in a private namespace.

The switch starts without a program (``--no-p4``): the P4Runtime client
pushes ``router.json`` and the P4Info. P4Runtime is served on a Unix socket
in the run directory, which a client outside the namespace can reach (a
TCP port on the namespace's 127.0.0.1 would not be); the Thrift port is the
default one, free by construction in a namespace of its own. The process is
stopped by its PID.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sim.model.codes import CPU_PORT
from sim.netns import Namespace, NetnsLab
from sim.p4rt_harness.wiring import switch_port_ifname, wired_namespace

LOG = logging.getLogger(__name__)

SWITCH_BINARY = "simple_switch_grpc"
DEVICE_ID = 1
THRIFT_PORT = 9090


def switch_binary() -> str | None:
    """Path of ``simple_switch_grpc`` on PATH, or None."""
    return shutil.which(SWITCH_BINARY)


@dataclass
class Bmv2Switch:
    """A running ``simple_switch_grpc`` with front-panel ports ``1..num_ports``."""

    lab: NetnsLab
    namespace: Namespace
    run_dir: Path
    num_ports: int
    process: subprocess.Popen[bytes]
    _output: IO[bytes] | None = field(repr=False, default=None)

    dataplane_grpc: bool = False

    @property
    def p4runtime_address(self) -> str:
        """gRPC target of the switch's P4Runtime server."""
        return f"unix:{self.run_dir / 'p4runtime.sock'}"

    @property
    def dataplane_address(self) -> str:
        """gRPC target of the dataplane service (``dataplane_grpc`` switches only)."""
        return f"unix:{self.run_dir / 'dataplane.sock'}"

    @classmethod
    def start(
        cls,
        run_dir: Path,
        num_ports: int,
        *,
        dataplane_grpc: bool = False,
        log_level: str = "info",
        timeout: float = 20.0,
    ) -> Bmv2Switch:
        """Make the namespace and veths, start the switch, wait until P4Runtime listens.

        With ``dataplane_grpc`` the ports are BMv2's dataplane gRPC service
        instead of veths (see :mod:`sim.bmv2.ports`).
        """
        binary = switch_binary()
        if binary is None:
            raise FileNotFoundError(f"{SWITCH_BINARY} is not on PATH (see docs/p4.md)")
        run_dir.mkdir(parents=True, exist_ok=True)
        lab = NetnsLab("trbm")
        try:
            veth_ports = 0 if dataplane_grpc else num_ports
            namespace = wired_namespace(lab, veth_ports, "bmv2")
            sockets = [run_dir / "p4runtime.sock", *([run_dir / "dataplane.sock"] if dataplane_grpc else [])]
            for path in sockets:
                path.unlink(missing_ok=True)
            # Interfaces are a switch option, the dataplane service a target option (after "--").
            interfaces = [
                arg
                for port in range(1, veth_ports + 1)
                for arg in ("-i", f"{port}@{switch_port_ifname(port)}")
            ]
            dataplane = ["--dp-grpc-server-addr", f"unix:{sockets[1]}"] if dataplane_grpc else []
            argv = [
                binary,
                "--no-p4",
                "--device-id", str(DEVICE_ID),
                *interfaces,
                "--thrift-port", str(THRIFT_PORT),
                "--log-file", str(run_dir / "switch"),
                "--log-flush",
                "--log-level", log_level,
                "--",
                "--cpu-port", str(CPU_PORT),
                "--grpc-server-addr", f"unix:{sockets[0]}",
                *dataplane,
            ]  # fmt: skip
            output = (run_dir / "switch.out").open("wb")
            LOG.info("starting %s in %s: %s", SWITCH_BINARY, namespace.name, " ".join(argv))
            process = subprocess.Popen(
                ["ip", "netns", "exec", namespace.name, *argv],  # execs the switch: same PID
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            switch = cls(lab, namespace, run_dir, num_ports, process, output, dataplane_grpc)
        except BaseException:
            lab.close()
            raise
        try:
            for path in sockets:
                switch._wait_listening(path, timeout)
        except BaseException:
            switch.stop()
            raise
        return switch

    def _wait_listening(self, socket_path: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not socket_path.exists():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{SWITCH_BINARY} exited with status {self.process.returncode}; "
                    f"see {self.run_dir / 'switch.out'} and {self.run_dir / 'switch.txt'}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{SWITCH_BINARY} did not open {socket_path} within {timeout} s")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the switch (by PID), then delete its namespace."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    LOG.warning("%s (pid %d) ignored SIGTERM; killing it", SWITCH_BINARY, self.process.pid)
                    self.process.kill()
                    self.process.wait(timeout)
        finally:
            if self._output is not None:
                self._output.close()
            self.lab.close()
