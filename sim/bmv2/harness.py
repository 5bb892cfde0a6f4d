"""Run frames through ``router.p4`` on BMv2 and observe what the switch does with them.

:class:`Bmv2Router` is a switch with ports ``1..N`` wired to test sockets
and a primary P4Runtime session. :meth:`Bmv2Router.inject` sends one frame
(on a front-panel veth, or as a packet-out for the CPU port) and returns an
:class:`Observation`: every frame that came out of any port, every
packet-in, and how every counter moved. The observation is compared with the
reference model's outcome and counters by the caller.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sim.model.codes import CPU_PORT, ETH_HEADER_LEN, PACKET_OUT_HEADER_LEN
from sim.model.outcome import Counters, CounterValue, Drop, Forward, Outcome, Punt
from sim.model.tables import TableState

from .client import RouterClient
from .switch import DEVICE_ID, Bmv2Switch

LOG = logging.getLogger(__name__)

#: How long to wait for the switch to finish with a frame.
SETTLE_TIMEOUT = 5.0
#: After the expected output, how long to keep listening for anything else.
QUIET_PERIOD = 0.01
_POLL_INTERVAL = 0.002


def injection_problem(frame: bytes, ingress_port: int) -> str | None:
    """Why BMv2 cannot be handed ``frame`` on ``ingress_port``, or None if it can.

    Linux refuses to send a frame shorter than an Ethernet header on a veth
    (EINVAL), and a P4Runtime PacketOut always carries the full packet_out
    header, so such runts never reach the BMv2 pipeline at all.
    """
    if ingress_port == CPU_PORT:
        if len(frame) < PACKET_OUT_HEADER_LEN:
            return f"a P4Runtime PacketOut cannot carry a {len(frame)}-byte frame (the header alone is 2)"
        return None
    if len(frame) < ETH_HEADER_LEN:
        return f"a veth cannot carry a {len(frame)}-byte frame (Linux needs at least the 14-byte header)"
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
    """``router.p4`` on a running ``simple_switch_grpc``, with a socket on every front-panel port."""

    def __init__(self, switch: Bmv2Switch, client: RouterClient, sockets: dict[int, socket.socket]) -> None:
        self.switch = switch
        self.client = client
        self._sockets = sockets
        self._received: dict[int, asyncio.Queue[bytes]] = {port: asyncio.Queue() for port in sockets}

    @classmethod
    @asynccontextmanager
    async def running(
        cls, run_dir: Path, num_ports: int, device_config: Path, p4info: Path, *, log_level: str = "info"
    ) -> AsyncIterator[Bmv2Router]:
        """Start a switch, connect as primary, push the program; stop everything on exit."""
        switch = await asyncio.to_thread(Bmv2Switch.start, run_dir, num_ports, log_level=log_level)
        sockets: dict[int, socket.socket] = {}
        loop = asyncio.get_running_loop()
        try:
            for port in range(1, num_ports + 1):
                sockets[port] = switch.packet_socket(port)
            async with RouterClient(switch.p4runtime_address, p4info, device_config, DEVICE_ID) as client:
                router = cls(switch, client, sockets)
                for port, sock in sockets.items():
                    loop.add_reader(sock.fileno(), router._receive, port)
                try:
                    yield router
                finally:
                    for sock in sockets.values():
                        loop.remove_reader(sock.fileno())
        finally:
            for sock in sockets.values():
                sock.close()
            await asyncio.to_thread(switch.stop)

    def _receive(self, port: int) -> None:
        sock = self._sockets[port]
        while True:
            try:
                frame, address = sock.recvfrom(1 << 16)
            except BlockingIOError:
                return
            if address[2] != socket.PACKET_OUTGOING:  # our own sends show up too
                self._received[port].put_nowait(frame)

    async def install(self, state: TableState) -> None:
        if state.num_ports != self.switch.num_ports:
            raise ValueError(
                f"tables are for a {state.num_ports}-port router, the switch has {self.switch.num_ports}"
            )
        await self.client.install(state)

    async def inject(self, frame: bytes, ingress_port: int) -> Observation:
        """Send ``frame`` into ``ingress_port`` and observe everything that follows."""
        problem = injection_problem(frame, ingress_port)
        if problem is not None:
            raise ValueError(problem)
        late = self._take_all()
        before = await self.client.read_counters()
        if ingress_port == CPU_PORT:
            await self.client.packet_out(frame)
        elif ingress_port in self._sockets:
            self._sockets[ingress_port].send(frame)
        else:
            raise ValueError(f"port {ingress_port} is not a port of this {self.switch.num_ports}-port switch")
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
            elif port in self._received:
                while self._received[port].empty() and time.monotonic() < deadline:
                    await asyncio.sleep(_POLL_INTERVAL)

    def _take_all(self) -> Observation:
        observation = Observation(punted=self.client.pending_packet_ins())
        for port, queue in self._received.items():
            while not queue.empty():
                observation.forwarded.append(Forward(port, queue.get_nowait()))
        return observation
