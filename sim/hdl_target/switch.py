"""``twinrouter hdl-switch``: the HDL router as a P4Runtime switch on Linux interfaces.

Like ``simple_switch_grpc -i 1@eth1 -i 2@eth2``: front ports are bound to
interfaces (raw sockets), the router itself runs as Verilated gateware, and
a P4Runtime server on 127.0.0.1 programs it through the in-band management
channel — the same path a real board takes over its management port::

    veth ──raw socket──┐
    veth ──raw socket──┤  VerilatedRouter (hdl.managed_router)
                       │     └─ port 0: management channel (0x88B5)
    P4Runtime ── server ── HdlDataPlane ── CoreDriver ── MgmtClient ──┘
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from hdl.driver import CoreDriver
from hdl.lpm.compiler import LpmCompiler
from sim.p4rt_server.server import P4RuntimeServer

from .dataplane import ChannelBus, HdlDataPlane
from .links import RawSocketLink
from .mgmt_client import MgmtClient
from .verilated_router import RouterBuild, VerilatedRouter

log = logging.getLogger(__name__)

MGMT_PORT = 0


@dataclass(frozen=True)
class PortBinding:
    port: int
    ifname: str

    @classmethod
    def parse(cls, text: str) -> PortBinding:
        number, sep, ifname = text.partition("@")
        if not sep or not number.isdigit() or not ifname:
            raise argparse.ArgumentTypeError(f"want PORT@INTERFACE (e.g. 1@veth1), got {text!r}")
        return cls(int(number), ifname)


class ManagementPort:
    """The management port of the Verilated router as a :class:`FrameLink` for the host library."""

    def __init__(self, router: VerilatedRouter):
        self.router = router
        self.incoming: asyncio.Queue[bytes] = asyncio.Queue()

    async def send(self, frame: bytes) -> None:
        await self.router.send(MGMT_PORT, frame)

    async def recv(self) -> bytes:
        return await self.incoming.get()


class HdlSwitch:
    """One simulated HDL router: gateware, front-port bridges and the P4Runtime server."""

    def __init__(
        self,
        build: RouterBuild,
        bindings: list[PortBinding],
        grpc_address: str,
        device_id: int = 1,
        binary: Path | None = None,
    ):
        for binding in bindings:
            if not 1 <= binding.port <= build.num_ports:
                raise ValueError(f"port {binding.port} is not a front port 1..{build.num_ports}")
        self.build = build
        self.binary = binary
        self.bindings = bindings
        self.grpc_address = grpc_address
        self.device_id = device_id
        self.links: dict[int, RawSocketLink] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.server: P4RuntimeServer | None = None
        self.router: VerilatedRouter | None = None
        self.grpc_port: int | None = None

    async def start(self) -> None:
        self.router = await VerilatedRouter.start(self.build, self.binary)
        management = ManagementPort(self.router)
        self.links = {b.port: RawSocketLink(b.ifname) for b in self.bindings}
        self._tasks = [asyncio.create_task(self._router_output(management), name="router output")]
        self._tasks += [
            asyncio.create_task(self._port_input(port, link), name=f"port {port} input")
            for port, link in self.links.items()
        ]
        self.client = MgmtClient(management, timeout=2.0)
        await self.client.__aenter__()
        compiler = LpmCompiler(self.build.lpm_geometry())
        driver = CoreDriver(ChannelBus(self.client), compiler)
        dataplane = await HdlDataPlane.connect(self.client, driver, compiler.capacity)
        self.server = P4RuntimeServer(dataplane, device_id=self.device_id)
        self.grpc_port = await self.server.start(self.grpc_address)
        log.info(
            "hdl-switch ready: ports %s, P4Runtime on %s",
            {b.port: b.ifname for b in self.bindings},
            self.grpc_address,
        )

    async def stop(self) -> None:
        if self.server:
            await self.server.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if getattr(self, "client", None):
            await self.client.__aexit__(None, None, None)
        for link in self.links.values():
            link.close()
        if self.router:
            await self.router.stop()

    async def _port_input(self, port: int, link: RawSocketLink) -> None:
        assert self.router is not None
        while True:
            frame = await link.recv()
            await self.router.send(port, frame)

    async def _router_output(self, management: ManagementPort) -> None:
        assert self.router is not None
        while True:
            port, frame = await self.router.receive()
            if port == MGMT_PORT:
                management.incoming.put_nowait(frame)
            elif port in self.links:
                await self.links[port].send(frame)
            # A front port with no interface bound is a cable left unplugged.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i", "--interface", dest="bindings", action="append", type=PortBinding.parse, default=[],
        metavar="PORT@IFNAME", help="bind front port PORT to a Linux interface (repeat per port)",
    )  # fmt: skip
    parser.add_argument("--grpc", default="127.0.0.1:9559", help="P4Runtime address (default %(default)s)")
    parser.add_argument("--device-id", type=int, default=1)
    parser.add_argument("--num-ports", type=int, default=4, help="front ports of the built pipeline")
    parser.add_argument("--width", type=int, default=8, choices=(1, 4, 8), help="datapath width in bytes")
    parser.add_argument(
        "--binary",
        type=Path,
        help="a Verilated router already built for this configuration (default: build or find it cached)",
    )


def run(args: argparse.Namespace) -> int:
    build = RouterBuild(num_ports=args.num_ports, width=args.width)
    return asyncio.run(_serve(HdlSwitch(build, args.bindings, args.grpc, args.device_id, binary=args.binary)))


async def _serve(switch: HdlSwitch) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await switch.start()
        await stop.wait()
    finally:
        await switch.stop()
    return 0
