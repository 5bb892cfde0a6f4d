"""The data planes the controller is tested against, each as a switch process bound to veths.

Every one is started the way a user starts it, inside the namespace that
holds the switch's ends of the veths, and serves P4Runtime on a Unix
socket (gRPC's threads would not follow a ``setns``; a socket path is
reachable from any namespace):

- ``model``: ``python -m sim.networks.model_switch``, the reference model;
- ``hdl``: ``twinrouter hdl-switch``, the Verilated gateware behind the
  management channel;
- ``bmv2``: ``simple_switch_grpc`` (skipped when it or router.json is absent).

A :class:`SwitchProcess` is stopped by its PID and can be restarted on the
same socket, which is how the reconcile tests take the switch away.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from controller.p4rt import PipelineFiles
from sim.model.codes import CPU_PORT
from sim.netns import Namespace
from sim.p4build import BMV2_JSON_PATH, P4INFO_PATH

NUM_PORTS = 4
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

#: (port, interface) pairs -> the switch's command line, given its socket and run directory.
Argv = Callable[[list[tuple[int, str]], str, Path], list[str]]


def _bindings(ports: list[tuple[int, str]]) -> list[str]:
    return [arg for port, ifname in ports for arg in ("-i", f"{port}@{ifname}")]


def _model_argv(ports: list[tuple[int, str]], address: str, run_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "sim.networks.model_switch", *_bindings(ports),
        "--grpc", address, "--num-ports", str(NUM_PORTS),
    ]  # fmt: skip


@cache
def _hdl_binary() -> Path:
    """The Verilated router, built once per machine (cached by a hash of hdl/)."""
    from sim.hdl_target.verilated_router import RouterBuild, build_binary

    return build_binary(RouterBuild(num_ports=NUM_PORTS))


def _hdl_argv(ports: list[tuple[int, str]], address: str, run_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "controller.cli", "hdl-switch", *_bindings(ports),
        "--grpc", address, "--num-ports", str(NUM_PORTS), "--binary", str(_hdl_binary()),
    ]  # fmt: skip


def _bmv2_argv(ports: list[tuple[int, str]], address: str, run_dir: Path) -> list[str]:
    # The Thrift port is BMv2's default: free in a namespace of its own.
    return [
        "simple_switch_grpc", "--no-p4", "--device-id", "1", *_bindings(ports),
        "--log-file", str(run_dir / "bmv2"), "--log-flush",
        "--", "--cpu-port", str(CPU_PORT), "--grpc-server-addr", address,
    ]  # fmt: skip


@dataclass(frozen=True)
class DataPlaneKind:
    name: str
    argv: Argv
    pipeline: PipelineFiles


DATA_PLANES = {
    "model": DataPlaneKind("model", _model_argv, PipelineFiles(P4INFO_PATH)),
    "hdl": DataPlaneKind("hdl", _hdl_argv, PipelineFiles(P4INFO_PATH)),
    "bmv2": DataPlaneKind("bmv2", _bmv2_argv, PipelineFiles(P4INFO_PATH, BMV2_JSON_PATH)),
}

_NO_BMV2 = shutil.which("simple_switch_grpc") is None or not BMV2_JSON_PATH.exists()
#: ``pytest.mark.parametrize`` values: every data plane, BMv2's skipped with its reason when absent.
DATA_PLANE_PARAMS = [
    pytest.param("model"),
    pytest.param("hdl"),
    pytest.param(
        "bmv2",
        marks=[
            pytest.mark.bmv2,
            pytest.mark.skipif(_NO_BMV2, reason="simple_switch_grpc or p4/build/router.json is absent"),
        ],
    ),
]


class SwitchProcess:
    """One data plane's switch process in ``namespace``, serving P4Runtime on a Unix socket."""

    def __init__(
        self, kind: DataPlaneKind, namespace: Namespace, ports: list[tuple[int, str]], run_dir: Path
    ):
        self.kind = kind
        self.namespace = namespace
        self.ports = ports
        self.run_dir = run_dir
        self.socket_path = run_dir / "p4rt.sock"
        self.address = f"unix:{self.socket_path}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the switch and wait until its P4Runtime socket accepts connections."""
        assert self.process is None, "already running"
        self.socket_path.unlink(missing_ok=True)
        self.starts += 1
        log = (self.run_dir / f"switch-{self.starts}.log").open("wb")
        with log:
            argv = self.kind.argv(self.ports, self.address, self.run_dir)
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace.name, *argv],  # execs the switch: same PID
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._accepting():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind.name} switch exited ({self.process.returncode}): {log.name}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self.kind.name} switch not listening in {START_TIMEOUT} s: {log.name}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM by PID (SIGKILL if ignored), then wait for it."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _accepting(self) -> bool:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(self.socket_path))
            return True
        return False
