"""A register slice for streams: cuts the combinational paths through valid, payload and ready."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class StreamSkid(wiring.Component):
    """A two-entry skid buffer.

    ``o.valid``, ``o.payload`` and ``i.ready`` all come straight from registers, so
    nothing combinational passes through it in either direction; used to keep the
    125 MHz MAC domains' paths short between FIFOs and converters.

    Latency 1 cycle; full throughput (one transfer per cycle) while ``o`` is ready.
    """

    def __init__(self, shape):
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        skid = Signal.like(self.i.payload)
        skid_valid = Signal()
        m.d.comb += self.i.ready.eq(~skid_valid)
        with m.If(self.o.ready | ~self.o.valid):
            with m.If(skid_valid):
                m.d.sync += [self.o.payload.eq(skid), self.o.valid.eq(1), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        with m.Elif(self.i.valid & self.i.ready):
            m.d.sync += [skid.eq(self.i.payload), skid_valid.eq(1)]
        return m
