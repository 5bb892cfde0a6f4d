"""The rewrite/deparser stage of one input port: a frame from the payload FIFO, edited by its decision.

Forwarded frames get their MACs, TTL and checksum replaced in place; punted
frames get the ``packet_in`` header in front; ``packet_out`` frames lose
theirs; dropped frames are read out of the FIFO and discarded. Every output
beat carries its frame's destination and sizes for the crossbar, the output
queue and the counters.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from sim.model.codes import ETH_HEADER_LEN, PACKET_IN_HEADER_LEN, PACKET_OUT_HEADER_LEN

from .match import PORT_INDEX_BITS, Action, Decision
from .parser import LENGTH_BITS
from .realign import Prepender, Stripper
from .stream import beat_layout, beats_in, check_width, packet_signature

#: What rides with every beat after the rewrite stage.
Sideband = data.StructLayout(
    {
        "dest": PORT_INDEX_BITS,  # output port index
        "length": LENGTH_BITS,  # bytes received (what the counters count)
        "out_beats": LENGTH_BITS,  # beats of the frame as it leaves (tail-drop room check)
        "reason": 4,  # punt reason, for the punt counters
    }
)


def edited_layout(width: int) -> data.StructLayout:
    return data.StructLayout({"beat": beat_layout(width), "sideband": Sideband})


#: Byte offsets the rewrite of a forwarded frame replaces.
TTL_OFFSET = ETH_HEADER_LEN + 8
CHECKSUM_OFFSET = ETH_HEADER_LEN + 10


class Rewrite(wiring.Component):
    """Edits the frames of one input port as their decisions say.

    Parameters
    ----------
    width : int
    port_index : int
        This input's port index (front ports 0..num_ports-1, CPU port num_ports).
    num_ports : int

    Members
    -------
    payload : In(packet), from the parser's payload FIFO.
    decision : In(stream of Decision), one per frame, in order.
    o : Out(stream of beat + Sideband), to the crossbar.

    Latency: 0 cycles for forwarded and punted frames (a punt adds a cycle to
    load the header), 1 for packet_out frames (Stripper). Throughput: one
    beat per cycle, with back-to-back frames; a dropped frame is drained at
    one beat per cycle. Backpressure: ``payload.ready`` follows ``o.ready``
    while a decision is present.
    """

    def __init__(self, *, width: int, port_index: int, num_ports: int):
        self.width = check_width(width)
        if not isinstance(num_ports, int) or not 1 <= num_ports <= 254:
            raise ValueError(f"num_ports must be an integer 1..254, not {num_ports!r}")
        if not isinstance(port_index, int) or not 0 <= port_index <= num_ports:
            raise ValueError(f"port_index must be 0..{num_ports}, not {port_index!r}")
        self.port_index = port_index
        self.num_ports = num_ports
        self.cpu = port_index == num_ports
        super().__init__(
            {
                "payload": In(packet_signature(width)),
                "decision": In(stream.Signature(Decision)),
                "o": Out(stream.Signature(edited_layout(width))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        w = self.width
        decision = self.decision.payload
        beat = self.payload.payload

        if self.cpu:
            m.submodules.realign = realign = Stripper(w, PACKET_OUT_HEADER_LEN, sideband=Sideband)
        else:
            m.submodules.realign = realign = Prepender(w, PACKET_IN_HEADER_LEN, sideband=Sideband)
            number = self.port_index + 1
            m.d.comb += [
                realign.i.payload.insert.eq(decision.action == Action.PUNT),
                realign.i.payload.header.eq(
                    Cat(Const(number >> 8, 8), Const(number & 0xFF, 8), decision.reason)
                ),
            ]
        m.d.comb += [
            self.o.valid.eq(realign.o.valid),
            self.o.payload.beat.eq(realign.o.payload.beat),
            self.o.payload.sideband.eq(realign.o.payload.sideband),
            realign.o.ready.eq(self.o.ready),
        ]

        dropping = decision.action == Action.DROP
        m.d.comb += [
            realign.i.valid.eq(self.payload.valid & self.decision.valid & ~dropping),
            self.payload.ready.eq(self.decision.valid & (dropping | realign.i.ready)),
            self.decision.ready.eq(self.payload.valid & self.payload.ready & beat.last),
            realign.i.payload.beat.eq(self._patched(m, beat, decision)),
            realign.i.payload.sideband.eq(self._sideband(m, decision)),
        ]
        return m

    def _patched(self, m, beat, decision):
        """The beat with a forwarded frame's MACs, TTL and checksum replaced."""
        w = self.width
        index = Signal(range(beats_in(CHECKSUM_OFFSET + 2, w) + 1))
        with m.If(self.payload.valid & self.payload.ready):
            with m.If(beat.last):
                m.d.sync += index.eq(0)
            with m.Elif(index != beats_in(CHECKSUM_OFFSET + 2, w)):
                m.d.sync += index.eq(index + 1)

        forward = decision.action == Action.FORWARD
        replace = {}
        for i in range(6):
            replace[i] = (decision.dmac.word_select(5 - i, 8), forward)
            replace[6 + i] = (decision.smac.word_select(5 - i, 8), forward & decision.smac_valid)
        replace[TTL_OFFSET] = (decision.ttl, forward)
        replace[CHECKSUM_OFFSET] = (decision.checksum[8:], forward)
        replace[CHECKSUM_OFFSET + 1] = (decision.checksum[:8], forward)

        patched = Signal.like(beat)
        m.d.comb += patched.eq(beat)
        for offset, (value, enable) in replace.items():
            lane = offset % w
            with m.If(enable & (index == offset // w)):
                m.d.comb += patched.data.word_select(lane, 8).eq(value)
        return patched

    def _sideband(self, m, decision):
        w = self.width
        sideband = Signal(Sideband)
        out_length = Signal(LENGTH_BITS + 1)
        with m.Switch(decision.action):
            with m.Case(Action.PUNT):
                m.d.comb += out_length.eq(decision.length + PACKET_IN_HEADER_LEN)
            with m.Case(Action.PACKET_OUT):
                m.d.comb += out_length.eq(decision.length - PACKET_OUT_HEADER_LEN)
            with m.Default():
                m.d.comb += out_length.eq(decision.length)
        shift = w.bit_length() - 1
        beats = (out_length + (w - 1)) >> shift
        m.d.comb += [
            sideband.dest.eq(decision.out),
            sideband.length.eq(decision.length),
            sideband.reason.eq(decision.reason),
            sideband.out_beats.eq(Mux(beats == 0, 1, beats)),
        ]
        return sideband
