"""Send one frame into a P4Runtime target and observe everything it does with it.

:class:`WiredRouter` is a running switch whose front-panel ports are wired
to the test (:mod:`sim.p4rt_harness.wiring`) and a primary P4Runtime session
with it (:class:`~sim.p4rt_harness.client.RouterClient`). It does not know
which target it drives: BMv2 and the HDL switch look the same from here.
:meth:`WiredRouter.inject` sends one frame (on a front-panel port, or as a
packet-out for the CPU port) and returns an :class:`Observation`: every
frame that came out of any port, every packet-in, and how every counter
moved. The caller compares it with the reference model.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from sim.model.codes import CPU_PORT, ETH_HEADER_LEN, PACKET_OUT_HEADER_LEN
from sim.model.outcome import Counters, CounterValue, Drop, Forward, Outcome, Punt
from sim.model.tables import TableState

from .client import RouterClient
from .wiring import Ports

#: How long to wait for the switch to finish with a frame.
SETTLE_TIMEOUT = 5.0
#: After the expected output, how long to keep listening for anything else.
QUIET_PERIOD = 0.01
_POLL_INTERVAL = 0.002
#: While nothing has come out, how often to ask the counters whether the frame was dropped.
_COUNTER_POLL_INTERVAL = 0.005


def injection_problem(frame: bytes, ingress_port: int) -> str | None:
    """Why ``frame`` cannot be sent into ``ingress_port`` over a veth or a PacketOut, or None.

    Linux refuses to send a frame shorter than an Ethernet header on a veth
    (EINVAL), and a P4Runtime PacketOut always carries the full packet_out
    header.
    """
    if ingress_port == CPU_PORT:
        if len(frame) < PACKET_OUT_HEADER_LEN:
            return f"a P4Runtime PacketOut cannot carry a {len(frame)}-byte frame (the header alone is 2)"
        return None
    if len(frame) < ETH_HEADER_LEN:
        return f"a veth cannot carry a {len(frame)}-byte frame (Linux needs at least the 14-byte header)"
    return None


def delivery_problem(outcome: Outcome) -> str | None:
    """Why a veth cannot deliver what the switch should send for ``outcome``, or None if it can.

    A switch may transmit a runt the program forwards (a packet_out of a few
    bytes, say), but Linux refuses to put it on a veth.
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


class WiredRouter:
    """A switch running the router's P4Info, every front-panel port wired to the test.

    ``cpu_port_on_ports``: ``ports`` also carry the CPU port (BMv2's dataplane
    gRPC service does); otherwise CPU-port frames go in as P4Runtime PacketOuts.
    """

    def __init__(
        self, client: RouterClient, ports: Ports, num_ports: int, *, cpu_port_on_ports: bool = False
    ) -> None:
        self.client = client
        self.num_ports = num_ports
        self._ports = ports
        self._cpu_port_on_ports = cpu_port_on_ports
        # The counters as last read: the next frame's starting point (tables do not move them).
        self._counters: Counters | None = None

    async def install(self, state: TableState) -> None:
        if state.num_ports != self.num_ports:
            raise ValueError(
                f"tables are for a {state.num_ports}-port router, the switch has {self.num_ports}"
            )
        await self.client.install(state)

    def injection_problem(self, frame: bytes, ingress_port: int) -> str | None:
        """Why this router's ports cannot take ``frame`` on ``ingress_port``, or None."""
        return injection_problem(frame, ingress_port)

    async def inject(self, frame: bytes, ingress_port: int) -> Observation:
        """Send ``frame`` into ``ingress_port`` and observe everything that follows."""
        problem = self.injection_problem(frame, ingress_port)
        if problem is not None:
            raise ValueError(problem)
        if ingress_port != CPU_PORT and not 1 <= ingress_port <= self.num_ports:
            raise ValueError(f"port {ingress_port} is not a port of this {self.num_ports}-port switch")
        late = self._take_all()
        # Reading the counters is the slow part on a target behind a management channel
        # (about 0.1 s on the HDL switch): each observation ends with one reading, which
        # is the next one's start. Anything that happens after that reading shows in the
        # next observation (late output, counters off), or in :meth:`leftovers`.
        before = self._counters
        if before is None or late.forwarded or late.punted:
            before = await self.client.read_counters()
        if ingress_port == CPU_PORT and not self._cpu_port_on_ports:
            await self.client.packet_out(frame)
        else:
            self._ports.send(ingress_port, frame)
        self._counters = await self._settle(before)
        observation = self._take_all()
        observation.counters = counters_delta(before, self._counters)
        observation.late = [*late.forwarded, *late.punted]
        return observation

    async def leftovers(self) -> Observation:
        """What the switch did since the last observation closed (nothing, if all went well)."""
        await asyncio.sleep(QUIET_PERIOD)
        observation = self._take_all()
        counters = await self.client.read_counters()
        if self._counters is not None:
            observation.counters = counters_delta(self._counters, counters)
        self._counters = counters
        return observation

    async def _settle(self, before: Counters) -> Counters:
        """The counters once they show the frame dropped or sent, and every frame sent has arrived.

        Each reading is taken a quiet period after the first output arrived
        (or, while none has, every few milliseconds), so that whatever else
        the frame causes has come out by then, and a target whose counter
        reads are slow is asked once for most frames.
        """
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            await self._first_output(_COUNTER_POLL_INTERVAL)
            await asyncio.sleep(QUIET_PERIOD)
            counters = await self.client.read_counters()
            delta = counters_delta(before, counters)
            if (_terminal_packets(delta) > 0 and self._delivered(delta)) or time.monotonic() > deadline:
                return counters

    def _outputs_waiting(self) -> bool:
        return self.client.packet_ins_waiting() > 0 or any(
            not q.empty() for q in self._ports.received.values()
        )

    async def _first_output(self, timeout: float) -> None:
        """Return once a frame or a packet-in is waiting, or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self._outputs_waiting() and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_INTERVAL)

    def _delivered(self, delta: Counters) -> bool:
        """Whether every port the counters say a frame left by has delivered one."""
        for port in delta.tx_port:
            if port == CPU_PORT:
                if self.client.packet_ins_waiting() == 0:
                    return False
            elif self._ports.received.setdefault(port, asyncio.Queue()).empty():
                return False
        return True

    def _take_all(self) -> Observation:
        observation = Observation(punted=self.client.pending_packet_ins())
        for port, queue in sorted(self._ports.received.items()):
            while not queue.empty():
                observation.forwarded.append(Forward(port, queue.get_nowait()))
        return observation
