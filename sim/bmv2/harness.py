"""Run frames through ``router.p4`` on BMv2 and observe what the switch does with them.

:class:`Bmv2Router` is a switch with ports ``1..N`` wired to the test
(:mod:`sim.bmv2.ports`) and a primary P4Runtime session.
:meth:`Bmv2Router.inject` sends one frame (on a front-panel port, or as a
packet-out for the CPU port) and returns an
:class:`Observation`: every frame that came out of any port, every
packet-in, and how every counter moved. The observation is compared with the
reference model's outcome and counters by the caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sim.model.codes import CPU_PORT, ETH_HEADER_LEN, PACKET_OUT_HEADER_LEN
from sim.model.outcome import Counters, CounterValue, Drop, Forward, Outcome, Punt
from sim.model.tables import TableState

from .client import RouterClient
from .compile import RouterBuild
from .ports import GrpcPorts, Ports, VethPorts
from .switch import DEVICE_ID, Bmv2Switch

LOG = logging.getLogger(__name__)

#: How long to wait for the switch to finish with a frame.
SETTLE_TIMEOUT = 5.0
#: After the expected output, how long to keep listening for anything else.
QUIET_PERIOD = 0.01
_POLL_INTERVAL = 0.002


def injection_problem(frame: bytes, ingress_port: int, *, dataplane_grpc: bool = False) -> str | None:
    """Why BMv2 cannot be handed ``frame`` on ``ingress_port``, or None if it can.

    Linux refuses to send a frame shorter than an Ethernet header on a veth
    (EINVAL), and a P4Runtime PacketOut always carries the full packet_out
    header. BMv2's dataplane gRPC service takes any frame on any port, except
    an empty one, which it skips: no way at all leads an empty frame into the
    pipeline.
    """
    if not frame:
        return "BMv2 takes no empty frame (veth, PacketOut and its dataplane service all refuse one)"
    if dataplane_grpc:
        return None
    if ingress_port == CPU_PORT:
        if len(frame) < PACKET_OUT_HEADER_LEN:
            return f"a P4Runtime PacketOut cannot carry a {len(frame)}-byte frame (the header alone is 2)"
        return None
    if len(frame) < ETH_HEADER_LEN:
        return f"a veth cannot carry a {len(frame)}-byte frame (Linux needs at least the 14-byte header)"
    return None


def delivery_problem(outcome: Outcome) -> str | None:
    """Why a veth cannot deliver what the switch should send for ``outcome``, or None if it can.

    BMv2 transmits a runt the program forwards (a packet_out of a few bytes,
    say), but Linux refuses to put it on a veth; the dataplane gRPC service
    returns it instead.
    """
    if isinstance(outcome, Forward) and len(outcome.frame) < ETH_HEADER_LEN:
        return f"a veth cannot carry the {len(outcome.frame)}-byte frame the switch sends"
    return None


@dataclass
class Observation:
    """Everything the switch did after one frame went in."""

    forwarded: list[Forward] = field(default_factory=list)
    punted: list[Punt] = field(default_factory=list)
    counters: Counters = field(default_factory=Counters)
    #: Output that arrived after the previous frame's observation had closed.
    late: list[Forward | Punt] = field(default_factory=list)

    def outcome(self) -> Outcome | None:
        """The single outcome this observation shows, or None if it shows none or several."""
        drops = [
            Drop(reason)  # type: ignore[arg-type]
            for reason, value in self.counters.drops.items()
            for _ in range(value.packets)
        ]
        events: list[Outcome] = [*self.forwarded, *self.punted, *drops]
        return events[0] if len(events) == 1 else None


def counters_delta(before: Counters, after: Counters) -> Counters:
    """``after - before``, cell by cell, keeping only the cells that moved."""
    delta = Counters()
    for name in ("rx_port", "tx_port", "drops", "punts"):
        old, new, out = getattr(before, name), getattr(after, name), getattr(delta, name)
        for index, value in new.items():
            base = old.get(index, CounterValue())
            moved = CounterValue(value.packets - base.packets, value.bytes - base.bytes)
            if moved != CounterValue():
                out[index] = moved
    return delta


def _terminal_packets(delta: Counters) -> int:
    """Frames that reached their end: dropped in ingress, or out of a port (CPU port included)."""
    return sum(v.packets for v in delta.drops.values()) + sum(v.packets for v in delta.tx_port.values())


class Bmv2Router:
    """``router.p4`` on a running ``simple_switch_grpc``, every front-panel port wired to the test."""

    def __init__(self, switch: Bmv2Switch, client: RouterClient, ports: Ports) -> None:
        self.switch = switch
        self.client = client
        self._ports = ports

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
                    ports = VethPorts({port: switch.packet_socket(port) for port in range(1, num_ports + 1)})
                yield cls(switch, client, ports)
        finally:
            if ports is not None:
                await ports.close()
            await asyncio.to_thread(switch.stop)

    async def install(self, state: TableState) -> None:
        if state.num_ports != self.switch.num_ports:
            raise ValueError(
                f"tables are for a {state.num_ports}-port router, the switch has {self.switch.num_ports}"
            )
        await self.client.install(state)

    async def inject(self, frame: bytes, ingress_port: int) -> Observation:
        """Send ``frame`` into ``ingress_port`` and observe everything that follows."""
        problem = injection_problem(frame, ingress_port, dataplane_grpc=self.switch.dataplane_grpc)
        if problem is not None:
            raise ValueError(problem)
        if ingress_port != CPU_PORT and not 1 <= ingress_port <= self.switch.num_ports:
            raise ValueError(f"port {ingress_port} is not a port of this {self.switch.num_ports}-port switch")
        late = self._take_all()
        before = await self.client.read_counters()
        if ingress_port == CPU_PORT and not self.switch.dataplane_grpc:
            await self.client.packet_out(frame)
        else:
            self._ports.send(ingress_port, frame)
        delta = await self._settle(before)
        await self._await_outputs(delta)
        await asyncio.sleep(QUIET_PERIOD)
        observation = self._take_all()
        observation.counters = counters_delta(before, await self.client.read_counters())
        observation.late = [*late.forwarded, *late.punted]
        return observation

    async def _settle(self, before: Counters) -> Counters:
        """Poll the counters until the frame has been dropped or sent out of some port."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            delta = counters_delta(before, await self.client.read_counters())
            if _terminal_packets(delta) > 0 or time.monotonic() > deadline:
                return delta
            await asyncio.sleep(_POLL_INTERVAL)

    async def _await_outputs(self, delta: Counters) -> None:
        """Wait until every port the counters say a frame left by has delivered it."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        for port in delta.tx_port:
            if port == CPU_PORT:
                while self.client.packet_ins_waiting() == 0 and time.monotonic() < deadline:
                    await asyncio.sleep(_POLL_INTERVAL)
            else:
                queue = self._ports.received.setdefault(port, asyncio.Queue())
                while queue.empty() and time.monotonic() < deadline:
                    await asyncio.sleep(_POLL_INTERVAL)

    def _take_all(self) -> Observation:
        observation = Observation(punted=self.client.pending_packet_ins())
        for port, queue in sorted(self._ports.received.items()):
            while not queue.empty():
                observation.forwarded.append(Forward(port, queue.get_nowait()))
        return observation
