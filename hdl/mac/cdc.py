"""A stream across clock domains."""

from __future__ import annotations

from amaranth import Module
from amaranth.hdl import Shape
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out


class StreamAsyncFifo(wiring.Component):
    """:class:`amaranth.lib.fifo.AsyncFIFO` with stream ports.

    Parameters
    ----------
    shape : ShapeLike
        Payload shape of both streams.
    depth : int
        Entries, a power of two.
    w_domain, r_domain : str
        Clock domains of ``w`` and ``r``.

    Members
    -------
    w : In(stream.Signature(shape))
        Written in ``w_domain``; ``w.ready`` is low while the FIFO is full.
    r : Out(stream.Signature(shape))
        Read in ``r_domain``, first word fall-through.

    Latency: about 3 ``r_domain`` cycles (the pointer synchronizer); throughput
    one entry per cycle on each side.
    """

    def __init__(self, shape, *, depth: int, w_domain: str, r_domain: str):
        if not isinstance(depth, int) or depth < 4 or depth & (depth - 1):
            raise ValueError(f"StreamAsyncFifo depth must be a power of two >= 4, not {depth!r}")
        self._fifo = fifo.AsyncFIFO(
            width=Shape.cast(shape).width, depth=depth, w_domain=w_domain, r_domain=r_domain
        )
        super().__init__({"w": In(stream.Signature(shape)), "r": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo_ = self._fifo
        m.d.comb += [
            fifo_.w_data.eq(self.w.payload),
            fifo_.w_en.eq(self.w.valid),
            self.w.ready.eq(fifo_.w_rdy),
            self.r.payload.eq(fifo_.r_data),
            self.r.valid.eq(fifo_.r_rdy),
            fifo_.r_en.eq(self.r.ready),
        ]
        return m
