"""Run frames through ``router.p4`` on BMv2 and observe what the switch does with them.

:class:`Bmv2Router` is the target-independent
:class:`~sim.p4rt_harness.observe.WiredRouter` on a ``simple_switch_grpc``
whose ports ``1..N`` are veths wired to the test, or BMv2's dataplane gRPC
service (:mod:`sim.bmv2.ports`), which also carries the runts a veth cannot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sim.p4rt_harness.client import RouterClient
from sim.p4rt_harness.observe import WiredRouter
from sim.p4rt_harness.observe import injection_problem as veth_injection_problem
from sim.p4rt_harness.wiring import Ports, VethPorts

from .compile import RouterBuild
from .ports import GrpcPorts
from .switch import DEVICE_ID, Bmv2Switch


def injection_problem(frame: bytes, ingress_port: int, *, dataplane_grpc: bool = False) -> str | None:
    """Why BMv2 cannot be handed ``frame`` on ``ingress_port``, or None if it can.

    Over veths and PacketOut, see :func:`sim.p4rt_harness.observe.injection_problem`.
    BMv2's dataplane gRPC service takes any frame on any port, except an
    empty one, which it skips: no way at all leads an empty frame into the
    pipeline.
    """
    if not frame:
        return "BMv2 takes no empty frame (veth, PacketOut and its dataplane service all refuse one)"
    if dataplane_grpc:
        return None
    return veth_injection_problem(frame, ingress_port)


class Bmv2Router(WiredRouter):
    """``router.p4`` on a running ``simple_switch_grpc``, every front-panel port wired to the test."""

    def __init__(self, switch: Bmv2Switch, client: RouterClient, ports: Ports) -> None:
        super().__init__(client, ports, switch.num_ports, cpu_port_on_ports=switch.dataplane_grpc)
        self.switch = switch

    @classmethod
    @asynccontextmanager
    async def running(
        cls,
        run_dir: Path,
        num_ports: int,
        build: RouterBuild,
        *,
        dataplane_grpc: bool = False,
        log_level: str = "info",
    ) -> AsyncIterator[Bmv2Router]:
        """Start a switch, connect as primary, push the program; stop everything on exit.

        Frames travel on veths, or with ``dataplane_grpc`` on BMv2's dataplane
        gRPC service (which also carries runts a veth cannot).
        """
        switch = await asyncio.to_thread(
            Bmv2Switch.start, run_dir, num_ports, dataplane_grpc=dataplane_grpc, log_level=log_level
        )
        ports: Ports | None = None
        try:
            async with RouterClient(
                switch.p4runtime_address, build.p4info, build.bmv2_json, DEVICE_ID
            ) as client:
                # The dataplane service answers "not ready" until a pipeline is in: open it after the push.
                if dataplane_grpc:
                    ports = GrpcPorts(switch.dataplane_address, DEVICE_ID, num_ports)
                else:
                    ports = VethPorts.on_host_ends(switch.namespace, num_ports)
                yield cls(switch, client, ports)
        finally:
            if ports is not None:
                await ports.close()
            await asyncio.to_thread(switch.stop)

    def injection_problem(self, frame: bytes, ingress_port: int) -> str | None:
        return injection_problem(frame, ingress_port, dataplane_grpc=self.switch.dataplane_grpc)
