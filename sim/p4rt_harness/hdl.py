"""The HDL switch (``twinrouter hdl-switch``: the Verilated router) as a :class:`WiredRouter`.

The switch runs in this process, as ``twinrouter hdl-switch`` runs it: its
front ports ``1..N`` are bound by raw sockets to the ``sw<N>`` ends of veths
in a private namespace (:func:`~sim.p4rt_harness.wiring.wired_namespace`),
the test's sockets sit on the ``host<N>`` ends, and tables, counters and the
CPU port go through its P4Runtime server, which drives the gateware over
the management channel. P4Runtime is served on a Unix socket in the run
directory: gRPC's threads do not follow the ``setns`` that opens the raw
sockets in the namespace, and a Unix socket is reachable from any namespace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sim.hdl_target.switch import HdlSwitch, PortBinding
from sim.hdl_target.verilated_router import RouterBuild, build_binary
from sim.netns import NetnsLab
from sim.p4build import P4INFO_PATH

from .client import RouterClient
from .observe import WiredRouter
from .wiring import VethPorts, switch_port_ifname, wired_namespace

LOG = logging.getLogger(__name__)

DEVICE_ID = 1


class HdlRouter(WiredRouter):
    """An :class:`HdlSwitch`, every front-panel port wired to the test, with a primary P4Runtime session."""

    def __init__(self, switch: HdlSwitch, client: RouterClient, ports: VethPorts) -> None:
        super().__init__(client, ports, switch.build.num_ports)
        self.switch = switch

    @classmethod
    @asynccontextmanager
    async def running(
        cls, run_dir: Path, build: RouterBuild | None = None, binary: Path | None = None
    ) -> AsyncIterator[HdlRouter]:
        """Start the switch for ``build`` (default: the default build), connect as primary, push the P4Info.

        ``binary``: the Verilated router already built for ``build`` (else it is
        built, or found in the cache). Everything is stopped and deleted on exit.
        """
        build = build or RouterBuild()
        if binary is None:
            binary = await asyncio.to_thread(build_binary, build)
        run_dir.mkdir(parents=True, exist_ok=True)
        grpc_socket = run_dir / "p4runtime.sock"
        grpc_socket.unlink(missing_ok=True)
        with NetnsLab("trhdl") as lab:
            namespace = wired_namespace(lab, build.num_ports, "hdl")
            bindings = [PortBinding(port, switch_port_ifname(port)) for port in range(1, build.num_ports + 1)]
            switch = HdlSwitch(build, bindings, f"unix:{grpc_socket}", DEVICE_ID, binary=binary)
            try:
                with namespace.entered():  # the switch's raw sockets open on the namespace's veths
                    await switch.start()
                async with RouterClient(f"unix:{grpc_socket}", P4INFO_PATH, None, DEVICE_ID) as client:
                    ports = VethPorts.on_host_ends(namespace, build.num_ports)
                    try:
                        yield cls(switch, client, ports)
                    finally:
                        await ports.close()
            finally:
                await switch.stop()
