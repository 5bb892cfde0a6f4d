"""The Mininet side of a network: builds it from a plan, runs its routers, tears it down.

Debian's Mininet lives in the system Python, not in the project's venv, so
this module runs as ``/usr/bin/python3 -m sim.networks.mn_runner PLAN.json``
and imports nothing but the standard library and ``mininet``. The venv side
(:mod:`sim.networks.network`) writes the plan and talks to this process:

- stdout: one JSON event per line: ``node`` (a node's shell PID, so commands
  can be run in its namespace with ``mnexec -a PID``, and its namespace),
  ``process`` (each process started, by PID), ``progress``, ``ready``,
  ``done`` / ``failed`` (a command's answer), ``error``, ``stopped``;
- stdin: one JSON command per line: ``{"op": "link", "a": "r1", "b": "r2",
  "up": false}``, ``{"op": "check"}``, ``{"op": "stop"}``. End of input
  also means stop.

Every node is a Mininet host in a network namespace of its own, joined by
veth pairs (no switches: the routers are the switches). Two routers are
joined through a :class:`Cable` node, which can be cut. A twinrouter node
runs its data-plane process bound to its interfaces, P4Runtime on the
namespace's 127.0.0.1, and its controller in the same namespace. Everything
started is stopped by its PID on the way out, also on SIGINT/SIGTERM and on
errors; the namespaces go with their shells (never Mininet's global cleanup).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import Host

CPU_PORT = 255
BMV2_THRIFT_BASE = 9090
#: offloads off so frames cross a veth and a raw socket byte for byte (real checksums, no GSO)
OFFLOADS = ("rx", "tx", "sg", "tso", "gso", "gro")
FRR_DAEMONS = Path("/usr/lib/frr")


def emit(event: str, **fields: object) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class StartError(RuntimeError):
    pass


class QuietNode(Host):
    """A node whose kernel says nothing it was not asked to: no IPv6 (no RS, no MLD)."""

    def __init__(self, name: str, **params: object) -> None:
        super().__init__(name, **params)
        self.cmd("sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
        self.processes: dict[str, subprocess.Popen] = {}
        self.log_paths: dict[str, Path] = {}
        self.log_files: list = []

    def offloads_off(self) -> None:
        for intf in self.intfNames():
            if intf != "lo":
                self.cmd("ethtool -K", intf, *(f"{o} off" for o in OFFLOADS), ">/dev/null 2>&1")

    def spawn(self, role: str, argv: list[str], log_path: Path) -> subprocess.Popen:
        """Start ``argv`` in this node's namespace, output to ``log_path``; stopped by PID later."""
        log = log_path.open("ab")
        self.log_files.append(log)
        # mnexec -a PID enters our namespace and execs: the PID is the program's own.
        process = self.popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.processes[role] = process
        self.log_paths[role] = log_path
        emit("process", node=self.name, role=role, pid=process.pid)
        emit("progress", node=self.name, message=f"started {role} (pid {process.pid})")
        return process

    def stop_processes(self, timeout: float = 5.0) -> None:
        """Terminate what :meth:`spawn` started, newest first, by PID; kill what lingers."""
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in reversed(list(self.processes.values())):
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.log_files:
            log.close()

    def start_data_plane(self, plan: dict) -> None:
        """Start what forwards (first, for every router at once: it may take a while)."""

    def start_control_plane(self, plan: dict) -> None:
        """Start what routes, once the data plane is up."""

    def check_alive(self) -> None:
        """Raise StartError, with the end of its log, if a process of this node has exited."""
        for role, process in self.processes.items():
            if process.poll() is not None:
                lines = self.log_paths[role].read_text(errors="replace").splitlines()[-8:]
                tail = "".join(f"\n    {line}" for line in lines)
                raise StartError(f"{self.name}: {role} exited with status {process.returncode}:{tail}")

    def listening(self, port: int) -> bool:
        """Is a TCP socket listening on ``port`` in this namespace? (/proc/PID/net is per namespace)"""
        for table in ("tcp", "tcp6"):
            path = Path(f"/proc/{self.pid}/net/{table}")
            for line in path.read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
        return False

    def announce(self) -> None:
        """Tell the venv side about this node's namespace, so it can check the teardown."""
        emit("node", node=self.name, pid=self.pid, netns=os.stat(f"/proc/{self.pid}/ns/net").st_ino)


class LinuxHost(QuietNode):
    """An end host: one interface, an address, a default route via its router."""

    def configure(self, spec: dict) -> None:
        self.offloads_off()
        intf = spec["ifname"]
        self.cmd("ip addr add", spec["address"], "dev", intf)
        self.cmd("ip route add default via", spec["gateway"])


class TwinRouter(QuietNode):
    """A twinrouter: a data-plane process bound to the node's interfaces, and its controller.

    The kernel of the node has no addresses: every frame on the interfaces is
    the data plane's. Subclasses say which data plane and how to start it.
    """

    target_kind = "hdl"  # how the controller pushes the pipeline (P4Info only)

    def configure(self, spec: dict) -> None:
        self.spec = spec
        self.offloads_off()

    def switch_argv(self, plan: dict) -> list[str]:
        raise NotImplementedError

    def start_data_plane(self, plan: dict) -> None:
        run_dir = Path(plan["run_dir"]) / self.name
        run_dir.mkdir(parents=True, exist_ok=True)
        self.spawn("switch", self.switch_argv(plan), run_dir / "switch.log")

    def start_control_plane(self, plan: dict) -> None:
        spec = self.spec
        run_dir = Path(plan["run_dir"]) / self.name
        self._wait_for_grpc(spec["grpc_port"], spec.get("switch_timeout", 120.0))
        argv = [
            *plan["twinrouter"],
            *(["-v"] if plan.get("verbose") else []),
            "controller",
            "--config", spec["config"],
            "--target", f"127.0.0.1:{spec['grpc_port']}",
            "--target-kind", self.target_kind,
            "--run-dir", str(run_dir),
            *spec.get("controller_args", []),
        ]  # fmt: skip
        self.spawn("controller", argv, run_dir / "controller.log")

    def _wait_for_grpc(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.listening(port):
            self.check_alive()
            if time.monotonic() > deadline:
                raise StartError(
                    f"{self.name}: the switch did not listen on 127.0.0.1:{port} in {timeout:.0f} s"
                )
            time.sleep(0.1)

    def interface_args(self) -> list[str]:
        """``-i PORT@IFNAME`` for each port, as every data plane here takes them."""
        return [arg for p in self.spec["ports"] for arg in ("-i", f"{p['port']}@{p['ifname']}")]


class HdlRouter(TwinRouter):
    """The HDL router (Verilated gateware) as the data plane: ``twinrouter hdl-switch``."""

    def switch_argv(self, plan: dict) -> list[str]:
        spec = self.spec
        return [
            *plan["twinrouter"], "hdl-switch", *self.interface_args(),
            "--grpc", f"127.0.0.1:{spec['grpc_port']}",
            "--num-ports", str(spec["num_ports"]),
            "--width", str(spec.get("width", 8)),
            *(["--binary", plan["hdl_binary"]] if plan.get("hdl_binary") else []),
        ]  # fmt: skip


class ModelRouter(TwinRouter):
    """The reference model as the data plane (``python -m sim.networks.model_switch``)."""

    def switch_argv(self, plan: dict) -> list[str]:
        return [
            plan["python"], "-m", "sim.networks.model_switch", *self.interface_args(),
            "--grpc", f"127.0.0.1:{self.spec['grpc_port']}",
            "--num-ports", str(self.spec["num_ports"]),
        ]  # fmt: skip


class Bmv2Router(TwinRouter):
    """BMv2 (``simple_switch_grpc``) as the data plane; the controller pushes router.json."""

    target_kind = "bmv2"

    def switch_argv(self, plan: dict) -> list[str]:
        spec = self.spec
        run_dir = Path(plan["run_dir"]) / self.name
        return [
            plan["simple_switch_grpc"], "--no-p4", "--device-id", "1", *self.interface_args(),
            "--thrift-port", str(BMV2_THRIFT_BASE + spec["index"]),
            "--log-file", str(run_dir / "bmv2"),
            "--log-flush",
            "--",
            "--cpu-port", str(CPU_PORT),
            "--grpc-server-addr", f"127.0.0.1:{spec['grpc_port']}",
        ]  # fmt: skip


class FrrRouter(QuietNode):
    """FRR's zebra and ospfd in the node; the node's kernel forwards. Own config directory."""

    def configure(self, spec: dict) -> None:
        self.spec = spec
        self.offloads_off()
        for port in spec["ports"]:
            self.cmd("ip addr add", port["address"], "dev", port["ifname"])
        self.cmd("sysctl -q -w net.ipv4.ip_forward=1")

    def start_control_plane(self, plan: dict) -> None:
        workdir = Path(self.spec["workdir"])
        # The daemons run as the frr user (Debian's build has its vty group compiled in).
        for path in [workdir, *workdir.iterdir()]:
            shutil.chown(path, "frr", "frr")
        for daemon in ("zebra", "ospfd"):
            argv = [
                str(FRR_DAEMONS / daemon),
                "-f", str(workdir / f"{daemon}.conf"),
                "-i", str(workdir / f"{daemon}.pid"),
                "-z", str(workdir / "zserv.api"),
                "--vty_socket", str(workdir),
                "-u", "frr", "-g", "frr",
            ]  # fmt: skip
            self.spawn(daemon, argv, workdir / f"{daemon}.out")
            ready = workdir / ("zserv.api" if daemon == "zebra" else "ospfd.vty")
            deadline = time.monotonic() + 15
            while not ready.exists():
                self.check_alive()
                if time.monotonic() > deadline:
                    raise StartError(f"{self.name}: FRR {daemon} did not open {ready.name}")
                time.sleep(0.05)


class Cable(QuietNode):
    """A cable between two routers, or a LAN of several: a bridge in a namespace of its own,
    joining one veth per router.

    Cutting it takes its own two ports down, so both routers see carrier loss
    on interfaces that stay up, as when a cable is pulled: frames sent into
    it are lost, nobody's socket gets an error, and OSPF notices by its dead
    interval (FRR's zebra, on the kernel, sees the carrier go at once).
    """

    def configure(self, spec: dict) -> None:
        self.spec = spec
        self.offloads_off()
        self.cmd("ip link add br0 type bridge mcast_snooping 0")
        for intf in self.cable_ports():
            self.cmd("ip link set", intf, "master br0")
        self.cmd("ip link set br0 up")

    def cable_ports(self) -> list[str]:
        return [end["bridge_ifname"] for end in self.spec["ends"]]

    def set_connected(self, up: bool) -> None:
        for intf in self.cable_ports():
            self.cmd("ip link set", intf, "up" if up else "down")


ROUTER_CLASSES = {"hdl": HdlRouter, "bmv2": Bmv2Router, "model": ModelRouter, "frr": FrrRouter}


class NetworkRunner:
    def __init__(self, plan: dict) -> None:
        self.plan = plan
        self.net: Mininet | None = None
        self.nodes: dict[str, QuietNode] = {}
        self._stopping = threading.Lock()

    def build(self) -> None:
        # Mininet.init() would raise system-wide limits (sysctls); this network needs none of that.
        Mininet.inited = True
        self.net = Mininet(topo=None, controller=None, build=False, autoSetMacs=False)
        for spec in self.plan["routers"]:
            self._add_node(spec["name"], ROUTER_CLASSES[spec["dataplane"]])
        for spec in self.plan["hosts"]:
            self._add_node(spec["name"], LinuxHost)
        for cable in self.plan["cables"]:
            self._add_node(cable["name"], Cable)
            for end in cable["ends"]:
                self.net.addLink(
                    end["router"], cable["name"],
                    intfName1=end["ifname"], intfName2=end["bridge_ifname"], addr1=end["mac"],
                )  # fmt: skip
        for link in self.plan["links"]:
            self.net.addLink(
                link["a"], link["b"],
                intfName1=link["a_ifname"], intfName2=link["b_ifname"],
                addr1=link["a_mac"], addr2=link["b_mac"],
            )  # fmt: skip
        self.net.start()
        for spec in [*self.plan["routers"], *self.plan["hosts"], *self.plan["cables"]]:
            self.nodes[spec["name"]].configure(spec)
        links = len(self.plan["links"]) + len(self.plan["cables"])
        emit("progress", message=f"built {len(self.nodes)} nodes and {links} links")

    def _add_node(self, name: str, cls: type[QuietNode]) -> None:
        assert self.net is not None
        node = self.net.addHost(name, cls=cls, ip=None)
        self.nodes[name] = node
        node.announce()

    def start(self) -> None:
        routers = [self.nodes[spec["name"]] for spec in self.plan["routers"]]
        for router in routers:
            router.start_data_plane(self.plan)
        for router in routers:
            router.start_control_plane(self.plan)
        emit("ready")

    def link(self, a: str, b: str, up: bool) -> None:
        """Connect or cut the cable between routers ``a`` and ``b``."""
        for cable in self.plan["cables"]:
            if {end["router"] for end in cable["ends"]} == {a, b}:
                self.nodes[cable["name"]].set_connected(up)
                return
        raise ValueError(f"no cable between {a} and {b}")

    def check_alive(self) -> None:
        for node in self.nodes.values():
            node.check_alive()

    def stop(self) -> None:
        if not self._stopping.acquire(blocking=False):
            return
        for node in self.nodes.values():
            node.stop_processes()
        if self.net is not None:
            self.net.stop()  # deletes the links, ends the shells (and with them the namespaces)
        emit("stopped")


STOP_REQUESTED = threading.Event()


def read_commands(commands: queue.Queue[dict]) -> None:
    """Commands from stdin into ``commands``; a stop (or the end of input) interrupts whatever
    the main thread is doing, even a start that is still waiting for a switch."""
    for line in sys.stdin:
        if line.strip():
            command = json.loads(line)
            if command.get("op") == "stop":
                break
            commands.put(command)
    STOP_REQUESTED.set()
    os.kill(os.getpid(), signal.SIGTERM)


def serve(runner: NetworkRunner, commands: queue.Queue[dict]) -> None:
    while True:
        command = commands.get()
        op = command.get("op")
        try:
            if op == "link":
                runner.link(command["a"], command["b"], bool(command["up"]))
                emit("done", op=op)
            elif op == "check":
                runner.check_alive()
                emit("done", op=op)
            else:
                emit("failed", op=op, message=f"unknown op {op!r}")
        except Exception as error:  # a bad command is answered, the network stays up
            emit("failed", op=op, message=f"{type(error).__name__}: {error}")


def main(argv: list[str]) -> int:
    plan = json.loads(Path(argv[1]).read_text())
    setLogLevel("warning")
    runner = NetworkRunner(plan)

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    status = 0
    commands: queue.Queue[dict] = queue.Queue()
    threading.Thread(target=read_commands, args=(commands,), daemon=True).start()
    try:
        runner.build()
        runner.start()
        serve(runner, commands)
    except KeyboardInterrupt:
        status = 0 if STOP_REQUESTED.is_set() else 130
    except Exception as error:
        emit("error", message=f"{type(error).__name__}: {error}")
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        runner.stop()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
