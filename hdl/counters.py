"""The pipeline's counters: rx/tx per port, drops per reason, punts per reason.

They mean what the P4 counters (and ``sim.model.Counters``) mean: packets,
and bytes counted as the frame's length as received on its ingress port.

Each count lives in two places: a narrow free-running accumulator in
flip-flops, which takes any number of events in a clock, and the full-width
total in one small LUT-RAM memory (not 64-bit adders in fabric: those cost
the 25F board a third of its logic). A flusher visits one count per clock,
round robin, and adds what its accumulator gained since its last visit (the
memory keeps the value it saw then) to the total; a host read has its count
flushed next, so what it returns is exact.
"""

import enum

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from sim.model.codes import CPU_PORT, DropReason, PuntReason

from .mgmt import DATA_WIDTH, MgmtSignature
from .parser import LENGTH_BITS, OVERSIZE_DROP

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
        low half of a counter latches its high half, read next. Writes are
        acknowledged and ignored. Only reasons the pipeline gives
        (``DropReason``, the parser's oversize drop, ``PuntReason``) have
        counters; other addresses read 0.

    Latency: a read of a low half is acknowledged 3 cycles after ``stb`` (the
    high half, 1 cycle) and counts every event presented before the cycle
    of ``stb`` (events are registered once on their way in). After reset the flusher spends one round (one cycle per
    count) clearing the memory; reads wait for it.
    Backpressure: none; events are never refused, and no count is ever
    short: each accumulator is wide enough never to gain 2**width between two
    flushes of it, which are at most two rounds apart (a host read takes the
    flusher for at most every other cycle).
    """

    def __init__(self, num_ports: int, width: int = 64):
        if not isinstance(num_ports, int) or not 1 <= num_ports <= 254:
            raise ValueError(f"num_ports must be an integer 1..254, not {num_ports!r}")
        if not isinstance(width, int) or not DATA_WIDTH < width <= 2 * DATA_WIDTH:
            raise ValueError(f"width must be {DATA_WIDTH + 1}..{2 * DATA_WIDTH}, not {width!r}")
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
        counts = self._counts(m)  # (address of the low half, increment this clock, most per clock)
        slots = len(counts)
        # Free-running accumulators, each wide enough never to gain 2**width between two flushes
        # of it (two rounds, and one cycle more: see ``before``).
        accumulators = [
            Signal(range((2 * slots + 1) * most + 1), name=f"acc{slot}")
            for slot, (_, _, most) in enumerate(counts)
        ]
        seen_width = max(len(acc) for acc in accumulators)
        if seen_width >= self.width:
            raise ValueError(
                f"width {self.width} is too narrow for {slots} counts of up to {LENGTH_BITS}-bit lengths"
            )
        for acc, (_, increment, _) in zip(accumulators, counts, strict=True):
            m.d.sync += acc.eq(acc + increment)

        # Per count: its total, and its accumulator's value when last flushed. A few dozen
        # words: LUT RAM, not block RAM (the 25F board has none to spare).
        word = data.StructLayout({"total": self.width, "seen": seen_width})
        m.submodules.totals = totals = Memory(
            shape=word, depth=slots, init=[], attrs={"ram_style": "distributed"}
        )
        read, write = totals.read_port(), totals.write_port()

        # The flusher: the clock's slot is a pending host read's (not twice in a row) or the next in turn.
        turn = Signal(range(slots))
        clearing = Signal(init=1)  # first round after reset: the memory holds garbage, not totals
        pending = Signal()
        wanted = Signal(range(slots))
        demand = Signal()
        demanded_last = Signal()
        slot = Signal(range(slots))
        snapshot = Signal(seen_width)
        mask = Signal(seen_width)  # the slot's accumulator width, as a mask
        m.d.comb += [
            demand.eq(pending & ~demanded_last & ~clearing),
            slot.eq(Mux(demand, wanted, turn)),
            read.addr.eq(slot),
        ]
        m.d.sync += demanded_last.eq(demand)
        with m.If(~demand):
            m.d.sync += turn.eq(Mux(turn == slots - 1, 0, turn + 1))
            with m.If(turn == slots - 1):
                m.d.sync += clearing.eq(0)
        with m.Switch(slot):
            for index, acc in enumerate(accumulators):
                with m.Case(index):
                    m.d.comb += [snapshot.eq(acc), mask.eq((1 << len(acc)) - 1)]

        # A cycle later the memory's word is there: add what the accumulator gained since it was
        # last seen, write back, answer the read it was for.
        flushed = Signal(range(slots))
        flushed_snapshot = Signal.like(snapshot)
        flushed_mask = Signal.like(mask)
        flushed_clearing = Signal(init=1)
        flushed_demand = Signal()
        m.d.sync += [
            flushed.eq(slot),
            flushed_snapshot.eq(snapshot),
            flushed_mask.eq(mask),
            flushed_clearing.eq(clearing),
            flushed_demand.eq(demand),
        ]
        # A slot flushed twice in a row reads its word from before the first write: the
        # first flush's gain is then counted by the second, since it starts from that old ``seen``.
        before = Signal(word)
        m.d.comb += before.eq(Mux(flushed_clearing, 0, read.data))  # accumulators start at 0 with reset
        gained = (flushed_snapshot - before.seen) & flushed_mask
        m.d.comb += [
            write.addr.eq(flushed),
            write.data.total.eq(before.total + gained),
            write.data.seen.eq(flushed_snapshot),
            write.en.eq(1),
        ]

        self._serve_host(m, counts, pending, wanted, flushed_demand, write.data.total)
        return m

    def _counts(self, m: Module) -> list[tuple[int, Signal, int]]:
        """Every count in address order: its low-half address, this clock's increment, its most per clock."""
        counts = []
        # Events are registered first: they come at the end of long paths (queue admission).
        ports = self.num_ports + 1
        rx = Signal(data.ArrayLayout(CountEvent, ports), name="rx_events")
        tx = Signal(data.ArrayLayout(CountEvent, ports), name="tx_events")
        queue_full = Signal(data.ArrayLayout(CountEvent, ports), name="queue_full_events")
        drop = Signal(ReasonEvent, name="drop_event")
        punt = Signal(ReasonEvent, name="punt_event")
        m.d.sync += [
            rx.eq(self.rx),
            tx.eq(self.tx),
            queue_full.eq(self.queue_full),
            drop.eq(self.drop),
            punt.eq(self.punt),
        ]

        def counter(array: CounterArray, index: int, events: list):
            packets = Signal(range(len(events) + 1), name=f"{array.name.lower()}{index}_packets_now")
            octets = Signal(
                range(len(events) * ((1 << LENGTH_BITS) - 1) + 1),
                name=f"{array.name.lower()}{index}_bytes_now",
            )
            m.d.comb += [
                packets.eq(sum(event.valid for event in events)),
                octets.eq(sum(event.length & event.valid.replicate(LENGTH_BITS) for event in events)),
            ]
            for is_bytes, increment in enumerate((packets, octets)):
                most = len(events) * ((1 << LENGTH_BITS) - 1 if is_bytes else 1)
                counts.append(
                    (counter_address(array, index, bytes_=bool(is_bytes), high=False), increment, most)
                )

        def reason_hit(event, reason: int):
            hit = Signal(CountEvent, name=f"reason{reason}")
            m.d.comb += [hit.valid.eq(event.valid & (event.reason == reason)), hit.length.eq(event.length)]
            return hit

        for index in range(self.num_ports + 1):
            counter(CounterArray.RX_PORT, self.port_number(index), [rx[index]])
        for index in range(self.num_ports + 1):
            counter(CounterArray.TX_PORT, self.port_number(index), [tx[index]])
        for reason in sorted({*DropReason, OVERSIZE_DROP}):
            events = [reason_hit(drop, reason)]
            if reason == DropReason.QUEUE_FULL:
                events += [queue_full[i] for i in range(ports)]
            counter(CounterArray.DROPS, reason, events)
        for reason in PuntReason:
            counter(CounterArray.PUNTS, reason, [reason_hit(punt, reason)])
        return sorted(counts, key=lambda count: count[0])

    def _serve_host(self, m, counts, pending, wanted, flushed_demand, total) -> None:
        """Bus reads: a low half asks the flusher for its count and answers with the new total."""
        bus = self.mgmt
        high = Signal(self.width - DATA_WIDTH)
        start = bus.stb & ~bus.ack & ~pending
        m.d.sync += bus.ack.eq(0)
        with m.If(start):
            with m.If(bus.we | bus.adr[0]):
                m.d.sync += [bus.ack.eq(1), bus.dat_r.eq(high)]  # a write is ignored
            with m.Else(), m.Switch(bus.adr):
                for slot, (address, _, _) in enumerate(counts):
                    with m.Case(address):
                        m.d.sync += [pending.eq(1), wanted.eq(slot)]
                with m.Default():  # no such counter: 0, and so is its high half
                    m.d.sync += [bus.ack.eq(1), bus.dat_r.eq(0), high.eq(0)]
        with m.If(flushed_demand):
            m.d.sync += [
                pending.eq(0),
                bus.ack.eq(1),
                bus.dat_r.eq(total[:DATA_WIDTH]),
                high.eq(total[DATA_WIDTH:]),
            ]
