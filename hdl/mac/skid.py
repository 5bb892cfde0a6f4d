"""A register slice for streams: cuts the combinational paths through valid, payload and ready."""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class StreamSkid(wiring.Component):
    """A two-entry register FIFO used as a register slice.

    ``i.ready`` and ``o.valid`` come from its occupancy register, and ``i.payload``
    goes straight into a register's D input (no logic in front: a block RAM's slow
    output can feed it), so no combinational path passes through in either
    direction. Used to keep the 125 MHz MAC domains' paths short.

    Latency 1 cycle; full throughput (one transfer per cycle) while ``o`` is ready.
    """

    def __init__(self, shape):
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        # No reset on the payload: a register fed straight from its source, with nothing but
        # its clock enable in front.
        entries = [Signal.like(self.i.payload, name=f"entry{k}", reset_less=True) for k in range(2)]
        write_at, read_at = Signal(), Signal()
        count = Signal(range(3))
        write, read = Signal(), Signal()
        m.d.comb += [
            self.i.ready.eq(count != 2),
            self.o.valid.eq(count != 0),
            self.o.payload.eq(Mux(read_at, entries[1], entries[0])),
            write.eq(self.i.valid & self.i.ready),
            read.eq(self.o.valid & self.o.ready),
        ]
        for k, entry in enumerate(entries):
            with m.If(write & (write_at == k)):
                m.d.sync += entry.eq(self.i.payload)
        with m.If(write):
            m.d.sync += write_at.eq(~write_at)
        with m.If(read):
            m.d.sync += read_at.eq(~read_at)
        # Branches rather than count + write - read: an unknown `o.ready` straight after reset
        # (an AsyncFIFO's) must not make the count unknown in a Verilog simulation.
        with m.If(write & ~read):
            m.d.sync += count.eq(count + 1)
        with m.Elif(read & ~write):
            m.d.sync += count.eq(count - 1)
        return m
