"""Width conversion between the MAC's byte stream and the core's W-byte beats."""

from __future__ import annotations

from amaranth import Array, Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .layout import BYTE_BEAT, check_width, packet_layout


class ByteWidener(wiring.Component):
    """Packs a byte stream into beats of ``width`` bytes.

    Byte *k* of a beat is ``data[8k:8k+8]``; ``keep`` marks the bytes present,
    a contiguous run from byte 0, and is all ones except on a frame's last beat.
    ``first`` marks the first beat of each frame.

    Members
    -------
    i : In(stream.Signature(BYTE_BEAT))
    o : Out(stream.Signature(packet_layout(width)))

    Latency 1 cycle from a beat's final byte to ``o``; takes one byte per cycle,
    and stalls ``i`` only when a completed beat finds the previous one still
    waiting at ``o``.
    """

    def __init__(self, width: int):
        self._width = check_width(width)
        super().__init__(
            {
                "i": In(stream.Signature(BYTE_BEAT)),
                "o": Out(stream.Signature(packet_layout(width))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        width = self._width
        assembly = Array(Signal(8, name=f"byte{k}") for k in range(width))
        index = Signal(range(width))
        starts_frame = Signal(init=1)

        completes = Signal()
        output_free = Signal()
        m.d.comb += [
            completes.eq(self.i.payload.last | (index == width - 1)),
            output_free.eq(~self.o.valid | self.o.ready),
            self.i.ready.eq(~completes | output_free),
        ]
        with m.If(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        # The beat that the incoming byte completes: earlier bytes from the assembly.
        lanes = []
        for k in range(width):
            lane = Signal(8, name=f"lane{k}")
            with m.If(index == k):
                m.d.comb += lane.eq(self.i.payload.data)
            with m.Elif(index > k):
                m.d.comb += lane.eq(assembly[k])
            lanes.append(lane)

        with m.If(self.i.valid & self.i.ready):
            with m.If(completes):
                m.d.sync += [
                    self.o.valid.eq(1),
                    self.o.payload.data.eq(Cat(*lanes)),
                    self.o.payload.keep.eq(Cat(*(index >= k for k in range(width)))),
                    self.o.payload.first.eq(starts_frame),
                    self.o.payload.last.eq(self.i.payload.last),
                    index.eq(0),
                    starts_frame.eq(self.i.payload.last),
                ]
            with m.Else():
                m.d.sync += [assembly[index].eq(self.i.payload.data), index.eq(index + 1)]
        return m


class ByteNarrower(wiring.Component):
    """Unpacks beats of ``width`` bytes into a byte stream.

    The bytes of a beat are those marked in ``keep``, a contiguous run from
    byte 0. A beat with ``keep`` all zero (the empty frame of :mod:`hdl.stream`)
    is taken and yields nothing. ``first`` is not needed and ignored.

    Members
    -------
    i : In(stream.Signature(packet_layout(width)))
    o : Out(stream.Signature(BYTE_BEAT))

    Latency 1 cycle; one byte per cycle out, so a beat of n bytes is taken every
    n cycles while ``o`` is ready.
    """

    def __init__(self, width: int):
        self._width = check_width(width)
        super().__init__(
            {
                "i": In(stream.Signature(packet_layout(width))),
                "o": Out(stream.Signature(BYTE_BEAT)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        width = self._width
        beat = Signal(8 * width)
        final = Signal(range(width))  # index of the beat's last byte
        beat_last = Signal()
        index = Signal(range(width))
        valid = Signal()

        on_final = Signal()
        m.d.comb += [
            on_final.eq(index == final),
            self.o.valid.eq(valid),
            self.o.payload.data.eq(beat.word_select(index, 8)),
            self.o.payload.last.eq(beat_last & on_final),
            self.i.ready.eq(~valid | (self.o.ready & on_final)),
        ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += index.eq(index + 1)
            with m.If(on_final):
                m.d.sync += [valid.eq(0), index.eq(0)]

        keep = self.i.payload.keep
        count = Signal(range(width))
        for k in range(1, width):  # the end of the run of kept bytes from byte 0 (later wins)
            with m.If(keep[: k + 1].all()):
                m.d.comb += count.eq(k)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [
                valid.eq(keep.any()),
                beat.eq(self.i.payload.data),
                beat_last.eq(self.i.payload.last),
                final.eq(count),
                index.eq(0),
            ]
        return m
