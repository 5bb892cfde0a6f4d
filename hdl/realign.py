"""Adding and removing bytes at the front of a frame: ``packet_in`` on, ``packet_out`` off.

Both shift the frame by a constant number of bytes, so every output byte
comes from a fixed lane of the current beat or of a one-beat carry register:
static wiring, no barrel shifter.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .stream import beat_layout, byte_count, check_width


def _bytes(value, first: int, count: int):
    return value[8 * first : 8 * (first + count)]


def _mask(count, width: int):
    """``keep`` for ``count`` bytes (a Value)."""
    return Mux(count >= width, Const(-1, width), (Const(1, width + 1) << count) - 1)[:width]


class Stripper(wiring.Component):
    """Removes the first ``strip`` bytes of every frame (the CPU port's ``packet_out`` header).

    A frame of exactly ``strip`` bytes becomes the empty frame (one beat,
    ``keep == 0``); shorter frames never reach it (the parser drops them).
    The ``sideband`` field rides along unchanged from each frame's first beat.

    Latency: 1 cycle (an output beat is built from the previous beat's tail
    and the current beat's head). Throughput: one beat per cycle; the extra
    beat that closes a frame overlaps with the next frame's first beat, so
    back-to-back frames pass without bubbles. Backpressure: ``i.ready``
    follows ``o.ready`` (combinationally).
    """

    def __init__(self, width: int, strip: int, sideband: data.Layout | int = 0):
        self.width = check_width(width)
        if not isinstance(strip, int) or strip < 1:
            raise ValueError(f"strip must be a positive number of bytes, not {strip!r}")
        self.strip = strip
        layout = data.StructLayout({"beat": beat_layout(width), "sideband": sideband})
        self.layout = layout
        super().__init__({"i": In(stream.Signature(layout)), "o": Out(stream.Signature(layout))})

    def elaborate(self, platform):
        m = Module()
        w = self.width
        skip_beats, shift = divmod(self.strip, w)
        i, o = self.i.payload, self.o.payload
        count = Mux(i.beat.last, byte_count(i.beat.keep, w), w)

        carry = Signal(8 * w)  # bytes shift.. of the previous beat, in lanes 0..
        carry_count = Signal(range(w + 1))
        sideband = Signal.like(i.sideband)
        flush = Signal()  # carry holds a frame's last bytes
        skipped = Signal(range(skip_beats + 1))
        body = Signal()  # past the first kept beat: output is carry ++ head of beat
        first_out = Signal(init=1)

        fire_out = self.o.valid & self.o.ready
        loading = ~body  # a beat that only fills the carry (or is skipped)
        m.d.comb += self.i.ready.eq(Mux(loading, ~flush | self.o.ready, self.o.ready))
        fire_in = self.i.valid & self.i.ready

        with m.If(flush):
            m.d.comb += [
                self.o.valid.eq(1),
                o.beat.data.eq(carry),
                o.beat.keep.eq(_mask(carry_count, w)),
                o.beat.last.eq(1),
                o.beat.first.eq(first_out),
                o.sideband.eq(sideband),
            ]
        with m.Elif(body):
            ends_here = i.beat.last & (count <= shift)
            m.d.comb += [
                self.o.valid.eq(self.i.valid),
                o.beat.data.eq(Cat(_bytes(carry, 0, w - shift), _bytes(i.beat.data, 0, shift))),
                o.beat.keep.eq(Mux(ends_here, _mask(w - shift + count, w), Const(-1, w))),
                o.beat.last.eq(ends_here),
                o.beat.first.eq(first_out),
                o.sideband.eq(sideband),
            ]
        with m.If(fire_out):
            m.d.sync += [first_out.eq(o.beat.last), flush.eq(0)]

        tail = Cat(_bytes(i.beat.data, shift, w - shift), Const(0, 8 * shift))
        with m.If(fire_in):
            with m.If(~body & (skipped != skip_beats)):
                # A whole beat of the header: nothing to keep (unless the frame ends here).
                m.d.sync += skipped.eq(skipped + 1)
                with m.If(skipped == 0):
                    m.d.sync += sideband.eq(i.sideband)
                with m.If(i.beat.last):
                    m.d.sync += [skipped.eq(0), flush.eq(1), carry_count.eq(0)]
            with m.Elif(~body):
                with m.If(skip_beats == 0):
                    m.d.sync += sideband.eq(i.sideband)
                m.d.sync += [carry.eq(tail), carry_count.eq(count - shift), skipped.eq(0)]
                with m.If(i.beat.last):
                    m.d.sync += flush.eq(1)
                with m.Else():
                    m.d.sync += body.eq(1)
            with m.Else():
                m.d.sync += [carry.eq(tail), carry_count.eq(count - shift)]
                with m.If(i.beat.last):
                    m.d.sync += body.eq(0)
                    with m.If(count > shift):
                        m.d.sync += flush.eq(1)
        return m


class Prepender(wiring.Component):
    """Puts ``header`` (``size`` bytes, first byte in bits 0..7) before frames whose ``insert`` is set.

    ``header``, ``insert`` and ``sideband`` are taken from each frame's first
    beat. Frames without ``insert`` pass unchanged.

    Latency: 0 cycles (combinational) for frames passing through. A frame
    that gets the header costs one cycle to load it, ``size // width`` beats
    of header only, and possibly one closing beat; ``i.ready`` is low in
    those cycles. Backpressure: ``i.ready`` follows ``o.ready`` otherwise.
    """

    def __init__(self, width: int, size: int, sideband: data.Layout | int = 0):
        self.width = check_width(width)
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive number of bytes, not {size!r}")
        self.size = size
        layout = data.StructLayout(
            {"beat": beat_layout(width), "insert": 1, "header": 8 * size, "sideband": sideband}
        )
        self.layout = layout
        super().__init__({"i": In(stream.Signature(layout)), "o": Out(stream.Signature(layout))})

    def elaborate(self, platform):
        m = Module()
        w = self.width
        head_beats, shift = divmod(self.size, w)
        i, o = self.i.payload, self.o.payload
        count = Mux(i.beat.last, byte_count(i.beat.keep, w), w)

        header = Signal(8 * self.size)
        sideband = Signal.like(i.sideband)
        carry = Signal(8 * shift)  # header tail, then the tail of the previous beat
        carry_count = Signal(range(w + 1))
        head = Signal(range(head_beats + 1))
        first_out = Signal()

        m.d.comb += [o.sideband.eq(sideband), o.insert.eq(0), o.header.eq(header)]
        with m.FSM():
            with m.State("PASS"):
                with m.If(self.i.valid & i.beat.first & i.insert):
                    m.d.sync += [
                        header.eq(i.header),
                        sideband.eq(i.sideband),
                        carry.eq(i.header[8 * head_beats * w :]),
                        head.eq(0),
                        first_out.eq(1),
                    ]
                    m.next = "HEAD" if head_beats else "BODY"
                with m.Else():
                    m.d.comb += [
                        o.eq(i),
                        o.insert.eq(0),
                        self.o.valid.eq(self.i.valid),
                        self.i.ready.eq(self.o.ready),
                    ]
            with m.State("HEAD"):
                m.d.comb += [
                    self.o.valid.eq(1),
                    o.beat.data.eq(header.word_select(head, 8 * w)),
                    o.beat.keep.eq(Const(-1, w)),
                    o.beat.first.eq(head == 0),
                ]
                with m.If(self.o.ready):
                    m.d.sync += [head.eq(head + 1), first_out.eq(0)]
                    with m.If(head == head_beats - 1):
                        m.next = "BODY"
            with m.State("BODY"):
                fits = count <= w - shift
                m.d.comb += [
                    self.o.valid.eq(self.i.valid),
                    self.i.ready.eq(self.o.ready),
                    o.beat.data.eq(Cat(carry, _bytes(i.beat.data, 0, w - shift))),
                    o.beat.keep.eq(Mux(i.beat.last & fits, _mask(shift + count, w), Const(-1, w))),
                    o.beat.last.eq(i.beat.last & fits),
                    o.beat.first.eq(first_out),
                ]
                with m.If(self.i.valid & self.o.ready):
                    m.d.sync += first_out.eq(0)
                    if shift:
                        m.d.sync += [
                            carry.eq(_bytes(i.beat.data, w - shift, shift)),
                            carry_count.eq(count - (w - shift)),
                        ]
                    with m.If(i.beat.last):
                        if shift:
                            with m.If(fits):
                                m.next = "PASS"
                            with m.Else():
                                m.next = "FLUSH"
                        else:
                            m.next = "PASS"
            with m.State("FLUSH"):
                m.d.comb += [
                    self.o.valid.eq(1),
                    o.beat.data.eq(carry),
                    o.beat.keep.eq(_mask(carry_count, w)),
                    o.beat.last.eq(1),
                ]
                with m.If(self.o.ready):
                    m.next = "PASS"
        return m
