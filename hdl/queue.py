"""Output queues with tail drop."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .counters import CountEvent, ReasonEvent
from .rewrite import edited_layout
from .stream import beat_layout, check_width, packet_signature


class OutputQueue(wiring.Component):
    """A FIFO of ``depth`` beats in front of one output port; frames that do not fit are dropped whole.

    The room check happens at a frame's first beat against its ``out_beats``,
    so an accepted frame always fits and the queue never pushes back: the
    crossbar can always deliver. A refused frame is read and discarded and
    counted (``queue_full``); an accepted one is counted on ``tx`` (and on
    ``punt`` for the CPU port, where every frame is a punt).

    Latency: 3 cycles from a beat in to the same beat at ``o``: a register
    (so that the room check does not share a cycle with the crossbar and the
    realigner in front, the core's longest path on the board builds), then
    the FIFO.
    Backpressure: ``i.ready`` is always high; ``o.ready`` low fills the queue.
    """

    def __init__(self, *, width: int, depth: int, cpu: bool = False):
        check_width(width)
        if not isinstance(depth, int) or depth < 2:
            raise ValueError(f"depth must be at least 2 beats, not {depth!r}")
        self.width = width
        self.depth = depth
        self.cpu = bool(cpu)
        super().__init__(
            {
                "i": In(stream.Signature(edited_layout(width))),
                "o": Out(packet_signature(width)),
                "tx": Out(CountEvent),
                "queue_full": Out(CountEvent),
                "punt": Out(ReasonEvent),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = queue = fifo.SyncFIFOBuffered(
            width=beat_layout(self.width).size, depth=self.depth
        )
        wiring.connect(m, wiring.flipped(self.o), queue.r_stream)

        # `i.ready` is always high, so a plain register takes every beat.
        fire = Signal()
        payload = Signal.like(self.i.payload, reset_less=True)
        m.d.sync += [fire.eq(self.i.valid), payload.eq(self.i.payload)]
        beat, sideband = payload.beat, payload.sideband
        in_frame = Signal()  # past a frame's first beat
        keeping = Signal()  # ... and the frame was accepted
        fits = (self.depth - queue.w_level) >= sideband.out_beats
        accept = Signal()
        m.d.comb += [
            self.i.ready.eq(1),
            accept.eq(Mux(in_frame, keeping, fits)),
            queue.w_data.eq(beat),
            queue.w_en.eq(fire & accept),
        ]
        starting = fire & ~in_frame
        m.d.comb += [
            self.tx.valid.eq(starting & fits),
            self.tx.length.eq(sideband.length),
            self.queue_full.valid.eq(starting & ~fits),
            self.queue_full.length.eq(sideband.length),
        ]
        if self.cpu:
            m.d.comb += [
                self.punt.valid.eq(starting & fits),
                self.punt.reason.eq(sideband.reason),
                self.punt.length.eq(sideband.length),
            ]
        with m.If(fire):
            m.d.sync += in_frame.eq(~beat.last)
            with m.If(starting):
                m.d.sync += keeping.eq(fits)
        return m
