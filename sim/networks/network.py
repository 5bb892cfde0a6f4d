"""A running network: the plan for the Mininet runner, the runner process, and what it left.

:class:`Network` writes every router's configuration into a run directory,
starts ``/usr/bin/python3 -m sim.networks.mn_runner`` (Debian's Mininet is
not in the venv) and waits until every router runs. Commands run in a node's
namespace with ``mnexec -a PID``; links go down and up through the runner;
the controllers answer on their status sockets. Leaving the ``with`` block
(normally, on an error or on Ctrl-C) stops the runner, which stops every
process by its PID and deletes every namespace and interface;
:meth:`Network.leftovers` says what, if anything, survived.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from controller.status import query, socket_path
from sim.p4build import BMV2_JSON_PATH, P4INFO_PATH

from .configs import OspfTiming, frr_ospfd_conf, frr_zebra_conf, router_toml
from .topology import RouterKind, Topology

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
GRPC_BASE_PORT = 9559
NUM_PORTS = 4
HDL_WIDTH = 8


class Dataplane(StrEnum):
    HDL = "hdl"  # twinrouter hdl-switch: the gateware under Verilator
    BMV2 = "bmv2"  # simple_switch_grpc running p4/build/router.json
    MODEL = "model"  # the reference model (sim.networks.model_switch)


class NetworkError(RuntimeError):
    pass


@dataclass
class NetworkOptions:
    dataplane: Dataplane = Dataplane.HDL
    run_dir: Path | None = None  # default: a fresh temporary directory, removed afterwards
    p4info: Path | None = None  # the controller's --p4info (default: the committed one)
    device_config: Path | None = None  # the controller's --device-config (BMv2)
    timing: OspfTiming = field(default_factory=OspfTiming)
    start_timeout: float = 180.0
    verbose: bool = False


def dataplane_problem(
    dataplane: Dataplane, device_config: Path | None = None, p4info: Path | None = None
) -> str | None:
    """Why ``dataplane`` cannot run here, or None."""
    if not (p4info or P4INFO_PATH).is_file():
        # Every controller pushes the P4 program's P4Info, whatever the data plane.
        return (
            f"{P4INFO_PATH} is not built: run 'make p4' (needs p4c-bm2-ss, see docs/p4.md), or pass --p4info"
        )
    if dataplane is Dataplane.BMV2:
        if shutil.which("simple_switch_grpc") is None:
            return "simple_switch_grpc (BMv2) is not on PATH; see docs/p4.md for how to install it"
        if not (device_config or BMV2_JSON_PATH).is_file():
            return f"{BMV2_JSON_PATH} is not built: run 'make p4' (needs p4c-bm2-ss, see docs/p4.md)"
    if not Path(SYSTEM_PYTHON).exists() or shutil.which("mnexec") is None:
        return "Mininet is not installed (Debian package 'mininet'; run scripts/setup.sh)"
    if os.geteuid() != 0:
        return "a Mininet network needs root (network namespaces)"
    return None


def prebuild(dataplane: Dataplane) -> Path | None:
    """Compile (or find cached) the Verilated router once, before several switches would race to.

    Returns the executable, which every switch of the network is then given
    (``hdl-switch --binary``), so they all run the very build made here.
    """
    if dataplane is not Dataplane.HDL:
        return None
    from sim.hdl_target.verilated_router import RouterBuild, build_binary

    return build_binary(RouterBuild(num_ports=NUM_PORTS, width=HDL_WIDTH))


def write_plan(topology: Topology, options: NetworkOptions, run_dir: Path) -> Path:
    """Router configurations and the runner's plan, in ``run_dir``; returns the plan's path."""
    twinrouter = [str(REPO / ".venv" / "bin" / "python"), "-m", "controller.cli"]
    controller_args: list[str] = []
    if options.p4info:
        controller_args += ["--p4info", str(options.p4info)]
    if options.device_config:
        controller_args += ["--device-config", str(options.device_config)]
    routers = []
    for index, router in enumerate(topology.routers, start=1):
        ports = [
            {"port": p.port, "ifname": p.ifname, "mac": p.mac, "address": str(p.address)}
            for p in topology.ports(router.name)
        ]
        folder = run_dir / router.name
        folder.mkdir(parents=True, exist_ok=True)
        if router.kind is RouterKind.FRR:
            (folder / "zebra.conf").write_text(frr_zebra_conf(router.name))
            conf = frr_ospfd_conf(topology, router.name, str(folder / "ospfd.log"), options.timing)
            (folder / "ospfd.conf").write_text(conf)
            routers.append({"name": router.name, "dataplane": "frr", "ports": ports, "workdir": str(folder)})
            continue
        config = folder / f"{router.name}.toml"
        config.write_text(router_toml(topology, router.name, NUM_PORTS, options.timing))
        routers.append(
            {
                "name": router.name,
                "dataplane": options.dataplane.value,
                "index": index,
                "ports": ports,
                "grpc_port": GRPC_BASE_PORT + index,
                "num_ports": NUM_PORTS,
                "width": HDL_WIDTH,
                "config": str(config),
                "controller_args": controller_args,
                "switch_timeout": options.start_timeout,
            }
        )
    hosts = []
    for host in topology.hosts:
        port = topology.host_port(host.name)
        hosts.append(
            {
                "name": host.name,
                "ifname": port.ifname,
                "mac": port.mac,
                "address": str(port.address),
                "gateway": str(port.gateway),
            }
        )
    cables = [
        {
            "name": segment.name,
            "ends": [
                {
                    "router": p.router,
                    "ifname": p.ifname,
                    "mac": p.mac,
                    "bridge_ifname": segment.bridge_ifname(end),
                }
                for end, p in enumerate(segment.ports)
            ],
        }
        for segment in topology.segments()
    ]
    links = []
    for host in topology.hosts:
        a, h = topology.port_towards(host.router, host.name), topology.host_port(host.name)
        links.append(
            {
                "a": host.router,
                "a_ifname": a.ifname,
                "a_mac": a.mac,
                "b": host.name,
                "b_ifname": h.ifname,
                "b_mac": h.mac,
            }
        )
    plan = {
        "name": topology.name,
        "run_dir": str(run_dir),
        "twinrouter": twinrouter,
        "python": twinrouter[0],
        "simple_switch_grpc": shutil.which("simple_switch_grpc") or "simple_switch_grpc",
        "verbose": options.verbose,
        "routers": routers,
        "hosts": hosts,
        "cables": cables,
        "links": links,
    }
    path = run_dir / "plan.json"
    path.write_text(json.dumps(plan, indent=1))
    return path


@dataclass
class NodeInfo:
    pid: int  # the node's shell: its namespace is /proc/PID/ns/net
    netns: int  # that namespace's inode
    processes: dict[str, int] = field(default_factory=dict)  # role -> PID


class Network(contextlib.AbstractContextManager["Network"]):
    """A topology running on one data plane; a context manager that always tears down."""

    def __init__(
        self,
        topology: Topology,
        options: NetworkOptions | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.topology = topology
        self.options = options or NetworkOptions()
        self.progress = progress or (lambda message: log.info("%s", message))
        self._own_run_dir = self.options.run_dir is None
        self.run_dir = self.options.run_dir or Path(tempfile.mkdtemp(prefix=f"twinrouter-{topology.name}-"))
        self.nodes: dict[str, NodeInfo] = {}
        self._runner: subprocess.Popen[str] | None = None
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stderr: IO[str] | None = None
        self.stopped = False

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> Network:
        problem = dataplane_problem(self.options.dataplane, self.options.device_config, self.options.p4info)
        if problem:
            raise NetworkError(problem)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.chmod(0o755)  # FRR's daemons run as the frr user and read their configs here
        plan = write_plan(self.topology, self.options, self.run_dir)
        if self.options.dataplane is Dataplane.HDL:
            self.progress("building the router gateware (only the first run: a few minutes)")
            binary = prebuild(self.options.dataplane)
            spec = json.loads(plan.read_text())
            spec["hdl_binary"] = str(binary)
            plan.write_text(json.dumps(spec, indent=1))
        self._stderr = (self.run_dir / "runner.log").open("w")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self._runner = subprocess.Popen(
            [SYSTEM_PYTHON, "-m", "sim.networks.mn_runner", str(plan)],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            # Ctrl-C in the terminal reaches only us; we stop the runner in order.
            start_new_session=True,
        )
        threading.Thread(target=self._read_events, name="runner events", daemon=True).start()
        self._wait_event({"ready"}, self.options.start_timeout + 60)
        return self

    def __enter__(self) -> Network:
        try:
            return self.start()
        except BaseException:
            self.stop(keep_logs=True)
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop(keep_logs=exc_type is not None)

    def stop(self, timeout: float = 60.0, keep_logs: bool = False) -> None:
        """Stop the runner (it stops every process by PID and deletes the network).

        A temporary run directory is removed unless ``keep_logs`` or something was left behind.
        """
        if self.stopped:
            return
        self.stopped = True
        runner = self._runner
        if runner is not None and runner.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                runner.stdin.write(json.dumps({"op": "stop"}) + "\n")  # type: ignore[union-attr]
                runner.stdin.close()  # type: ignore[union-attr]
            try:
                runner.wait(timeout)
            except subprocess.TimeoutExpired:
                log.error("the Mininet runner (pid %d) did not stop; terminating it", runner.pid)
                runner.terminate()
                try:
                    runner.wait(timeout)
                except subprocess.TimeoutExpired:
                    runner.kill()
                    runner.wait()
        if self._stderr is not None:
            self._stderr.close()
        if self._own_run_dir and not keep_logs and not self.leftovers():
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif self._own_run_dir:
            log.warning("logs and configurations kept in %s", self.run_dir)

    def leftovers(self) -> list[str]:
        """Whatever the network left behind: processes, namespaces, interfaces (empty: clean)."""
        found = []
        if self._runner is not None and self._runner.poll() is None:
            found.append(f"runner pid {self._runner.pid}")
        for name, node in self.nodes.items():
            for pid in [node.pid, *node.processes.values()]:
                if _alive(pid):
                    found.append(f"{name}: pid {pid}")
        namespaces = {node.netns: name for name, node in self.nodes.items()}
        for pid, inode in _network_namespaces().items():
            if inode in namespaces:
                found.append(f"{namespaces[inode]}'s namespace, held by pid {pid}")
        names = self.interface_names()
        found += [f"interface {name}" for name in _root_interfaces() if name in names]
        return found

    def interface_names(self) -> set[str]:
        topology = self.topology
        names = {p.ifname for r in topology.routers for p in topology.ports(r.name)}
        names |= {s.bridge_ifname(end) for s in topology.segments() for end in range(len(s.ports))}
        return names | {topology.host_port(h.name).ifname for h in topology.hosts}

    # --- the runner ------------------------------------------------------------------

    def _read_events(self) -> None:
        assert self._runner is not None and self._runner.stdout is not None
        for line in self._runner.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                log.warning("runner: %s", line.rstrip())
                continue
            # Nodes and processes are recorded as they appear, so that even a
            # network stopped half-built can be checked for leftovers.
            if event.get("event") == "node":
                self.nodes[event["node"]] = NodeInfo(event["pid"], event["netns"])
            elif event.get("event") == "process":
                self.nodes[event["node"]].processes[event["role"]] = event["pid"]
            elif event.get("event") == "progress":
                who = f"{event['node']}: " if "node" in event else ""
                self.progress(who + event["message"])
            self._events.put(event)
        self._events.put({"event": "exited"})

    def _wait_event(self, wanted: set[str], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self._events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise NetworkError(f"no answer from the Mininet runner in {timeout:.0f} s") from None
            kind = event.get("event")
            if kind in wanted:
                return event
            if kind in ("error", "failed"):
                raise NetworkError(f"{event.get('message')} (logs in {self.run_dir})")
            if kind == "exited":
                tail = (self.run_dir / "runner.log").read_text()[-2000:]
                raise NetworkError(f"the Mininet runner exited (logs in {self.run_dir}):\n{tail}")

    def _command(self, **command: Any) -> None:
        runner = self._runner
        if runner is None or runner.stdin is None or runner.poll() is not None:
            raise NetworkError("the network is not running")
        runner.stdin.write(json.dumps(command) + "\n")
        runner.stdin.flush()
        self._wait_event({"done"}, 30)

    # --- using it -------------------------------------------------------------------

    def set_link(self, a: str, b: str, up: bool) -> None:
        """Cut (or reconnect) the cable between routers ``a`` and ``b``."""
        self._command(op="link", a=a, b=b, up=up)

    def check_alive(self) -> None:
        """Raise NetworkError if a router's process has exited."""
        self._command(op="check")

    def node_argv(self, node: str, argv: Sequence[str]) -> list[str]:
        """``argv`` as run inside ``node``'s namespace."""
        return ["mnexec", "-a", str(self.nodes[node].pid), *argv]

    def run(self, node: str, argv: Sequence[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in ``node``'s namespace and wait for it (killed after ``timeout``)."""
        return subprocess.run(
            self.node_argv(node, argv), capture_output=True, text=True, timeout=timeout, check=False
        )

    def popen(self, node: str, argv: Sequence[str]) -> subprocess.Popen[str]:
        """Start ``argv`` in ``node``'s namespace; the caller stops it."""
        return subprocess.Popen(
            self.node_argv(node, argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )

    def status_socket(self, router: str) -> Path:
        index = self.topology.router_index(router)
        return socket_path(self.run_dir / router, f"127.0.0.1:{GRPC_BASE_PORT + index}")

    def status(self, router: str, view: str, timeout: float = 3.0) -> Any:
        """A twinrouter controller's status view (``routes``, ``ospf``, ...)."""
        return asyncio.run(query(self.status_socket(router), view, timeout))

    def show_command(self, router: str, view: str) -> str:
        """The ``twinrouter show`` command line for a router's view, for the user to copy."""
        index = self.topology.router_index(router)
        return f"twinrouter show {view} --target 127.0.0.1:{GRPC_BASE_PORT + index} --run-dir {self.run_dir / router}"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _network_namespaces() -> dict[int, int]:
    """PID -> network namespace inode, for every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                found[int(entry.name)] = os.stat(entry / "ns" / "net").st_ino
    return found


def _root_interfaces() -> list[str]:
    output = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    return [line.split(": ")[1].split("@")[0] for line in output.splitlines() if ": " in line]
