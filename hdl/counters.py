"""The pipeline's counters: rx/tx per port, drops per reason, punts per reason.

They mean what the P4 counters (and ``sim.model.Counters``) mean: packets,
and bytes counted as the frame's length as received on its ingress port.
Every counter is a register pair, so any number of events can land in the
same clock; the host reads them over the management bus.
"""

import enum

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In

from sim.model.codes import CPU_PORT, DROP_COUNTER_SIZE, PUNT_COUNTER_SIZE, DropReason

from .mgmt import MgmtSignature
from .parser import LENGTH_BITS
from .regs import RegisterPort

CountEvent = data.StructLayout({"valid": 1, "length": LENGTH_BITS})
ReasonEvent = data.StructLayout({"valid": 1, "reason": 4, "length": LENGTH_BITS})


class CounterArray(enum.IntEnum):
    """Bits 10.. of a counter's word address."""

    RX_PORT = 0
    TX_PORT = 1
    DROPS = 2
    PUNTS = 3


def counter_address(array: CounterArray, index: int, *, bytes_: bool, high: bool) -> int:
    """Word address of one half of one counter: ``array | index | packets/bytes | low/high``."""
    return array << 10 | index << 2 | int(bytes_) << 1 | int(high)


class CounterBlock(wiring.Component):
    """All counters, ``width`` bits each (packets and bytes).

    Members
    -------
    rx, tx : In(array of CountEvent), one per port index (front ports 0..N-1, CPU N).
    drop : In(ReasonEvent), drops decided by the match stage.
    queue_full : In(array of CountEvent), tail drops of each output queue.
    punt : In(ReasonEvent), punts delivered into the CPU queue.
    mgmt : In(MgmtSignature(12)), read only: :func:`counter_address`. Reading the
        low half of a counter latches its high half, read next.

    Latency: an event is counted the cycle after it is presented.
    Backpressure: none; events are never refused.
    """

    def __init__(self, num_ports: int, width: int = 64):
        if not isinstance(num_ports, int) or not 1 <= num_ports <= 254:
            raise ValueError(f"num_ports must be an integer 1..254, not {num_ports!r}")
        if not isinstance(width, int) or not 32 < width <= 64:
            raise ValueError(f"width must be 33..64, not {width!r}")
        self.num_ports = num_ports
        self.width = width
        ports = num_ports + 1
        super().__init__(
            {
                "rx": In(data.ArrayLayout(CountEvent, ports)),
                "tx": In(data.ArrayLayout(CountEvent, ports)),
                "drop": In(ReasonEvent),
                "queue_full": In(data.ArrayLayout(CountEvent, ports)),
                "punt": In(ReasonEvent),
                "mgmt": In(MgmtSignature(12)),
            }
        )

    def port_number(self, index: int) -> int:
        return CPU_PORT if index == self.num_ports else index + 1

    def elaborate(self, platform):
        m = Module()
        counters: dict[tuple[CounterArray, int], tuple[Signal, Signal]] = {}

        def counter(array: CounterArray, index: int, events: list):
            packets = Signal(self.width, name=f"{array.name.lower()}{index}_packets")
            octets = Signal(self.width, name=f"{array.name.lower()}{index}_bytes")
            counters[array, index] = packets, octets
            count = sum(event.valid for event in events)
            length = sum(event.length & event.valid.replicate(LENGTH_BITS) for event in events)
            m.d.sync += [packets.eq(packets + count), octets.eq(octets + length)]

        def reason_hit(event, reason: int):
            hit = Signal(CountEvent, name=f"reason{reason}")
            m.d.comb += [hit.valid.eq(event.valid & (event.reason == reason)), hit.length.eq(event.length)]
            return hit

        for index in range(self.num_ports + 1):
            number = self.port_number(index)
            counter(CounterArray.RX_PORT, number, [self.rx[index]])
            counter(CounterArray.TX_PORT, number, [self.tx[index]])
        for reason in range(DROP_COUNTER_SIZE):
            events = [reason_hit(self.drop, reason)]
            if reason == DropReason.QUEUE_FULL:
                events += [self.queue_full[i] for i in range(self.num_ports + 1)]
            counter(CounterArray.DROPS, reason, events)
        for reason in range(PUNT_COUNTER_SIZE):
            counter(CounterArray.PUNTS, reason, [reason_hit(self.punt, reason)])

        port = RegisterPort(self.mgmt)
        port.elaborate(m)
        high = Signal(32)
        with m.Switch(self.mgmt.adr):
            for (array, index), pair in counters.items():
                for is_bytes, value in enumerate(pair):
                    with m.Case(counter_address(array, index, bytes_=bool(is_bytes), high=False)):
                        m.d.comb += port.read_data.eq(value[:32])
                        with m.If(port.read):
                            m.d.sync += high.eq(value[32:])
            with m.Default(), m.If(self.mgmt.adr[0]):
                m.d.comb += port.read_data.eq(high)
        return m
