"""The management port: one Ethernet port shared by routed traffic and the management channel.

On a board the host reaches the management channel (docs/management-protocol.md)
through one of the front ports. That port's received frames are split by
EtherType: 0x88B5 frames go to the channel, all others to the router core's
front port. Its transmit side carries whole frames from either, interleaved::

    MAC rx ──▶ EtherTypeSplitter ──other──▶ core front port
                        └──0x88B5──▶ ByteNarrower ──▶ management channel (bytes)
    MAC tx ◀── FrameMerger ◀──────────────── core front port
                   ▲
                   └── ByteWidener ◀──────────────── management channel (bytes)
"""

from __future__ import annotations

from amaranth import Array, Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hdl.mac.width import ByteNarrower, ByteWidener
from hdl.stream import beat_layout, check_width, packet_signature
from sim.hdl_target.mgmt_protocol import ETHERTYPE_MGMT

ETHERTYPE_OFFSET = 12  # bytes 12 and 13 of an Ethernet frame


class EtherTypeSplitter(wiring.Component):
    """Steers each frame, whole, to ``match`` if its EtherType is ``ethertype``, else to ``other``.

    The splitter holds a frame's first ``ceil(14 / width)`` beats (the head,
    which ends with the EtherType) in registers, decides, replays the head to
    the chosen output and then passes the rest of the frame straight through.
    A frame that ends before its EtherType goes to ``other`` (the core counts
    it as truncated).

    Parameters
    ----------
    width : int
        Bytes per beat.
    ethertype : int
        The EtherType that selects ``match``.

    Members
    -------
    i : In(packet_signature(width))
    match, other : Out(packet_signature(width))

    Latency: the head's last beat plus 1 cycle to the head's first beat out.
    Throughput: one beat per cycle after the head; each frame costs
    ``head`` + 1 extra cycles (its head is taken, then replayed), which the
    board's core clock covers (docs/board.md). Backpressure: ``i`` waits
    while the chosen output does; the other output is never blocked by it.
    """

    def __init__(self, width: int, ethertype: int = ETHERTYPE_MGMT):
        self._width = check_width(width)
        if not isinstance(ethertype, int) or not 0 <= ethertype < 1 << 16:
            raise ValueError(f"ethertype must be a 16-bit integer, not {ethertype!r}")
        self._ethertype = ethertype
        self.head_beats = -(-(ETHERTYPE_OFFSET + 2) // width)
        super().__init__(
            {
                "i": In(packet_signature(width)),
                "match": Out(packet_signature(width)),
                "other": Out(packet_signature(width)),
            }
        )

    def _byte(self, head, position: int):
        """Byte ``position`` of the frame, from the held head."""
        return head[position // self._width].data.word_select(position % self._width, 8)

    def elaborate(self, platform):
        m = Module()
        width, beats = self._width, self.head_beats
        layout = beat_layout(width)
        head = Array(Signal(layout, name=f"head{k}") for k in range(beats))
        taken = Signal(range(beats + 1))  # beats held
        replayed = Signal(range(beats + 1))
        ended = Signal()  # the frame's last beat is among the held ones
        to_match = Signal()

        # Where the EtherType's second byte sits, and whether the frame reached it.
        final = (ETHERTYPE_OFFSET + 1) // width
        complete = (taken > final) & head[final].keep[(ETHERTYPE_OFFSET + 1) % width]
        ethertype = Cat(self._byte(head, ETHERTYPE_OFFSET + 1), self._byte(head, ETHERTYPE_OFFSET))

        out = Signal(layout)
        out_valid, out_ready = Signal(), Signal()
        m.d.comb += [
            self.match.payload.eq(out),
            self.other.payload.eq(out),
            self.match.valid.eq(out_valid & to_match),
            self.other.valid.eq(out_valid & ~to_match),
            out_ready.eq(Mux(to_match, self.match.ready, self.other.ready)),
        ]

        with m.FSM(name="splitter"):
            with m.State("HEAD"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.sync += [head[taken].eq(self.i.payload), taken.eq(taken + 1)]
                    with m.If(self.i.payload.last | (taken == beats - 1)):
                        m.d.sync += [ended.eq(self.i.payload.last), replayed.eq(0)]
                        m.next = "DECIDE"
            with m.State("DECIDE"):
                m.d.sync += to_match.eq(complete & (ethertype == self._ethertype))
                m.next = "REPLAY"
            with m.State("REPLAY"):
                m.d.comb += [out.eq(head[replayed]), out_valid.eq(1)]
                with m.If(out_ready):
                    m.d.sync += replayed.eq(replayed + 1)
                    with m.If(replayed == taken - 1):
                        m.d.sync += taken.eq(0)
                        m.next = "PASS"
                        with m.If(ended):
                            m.next = "HEAD"
            with m.State("PASS"):
                m.d.comb += [out.eq(self.i.payload), out_valid.eq(self.i.valid), self.i.ready.eq(out_ready)]
                with m.If(self.i.valid & out_ready & self.i.payload.last):
                    m.next = "HEAD"
        return m


class FrameMerger(wiring.Component):
    """Interleaves whole frames from ``i[0..n-1]`` onto ``o``, round robin.

    Once a frame's first beat has gone out, the merger stays with that input
    until its ``last`` beat, so frames never mix.

    Members
    -------
    i : In(packet_signature(width)).array(inputs)
    o : Out(packet_signature(width))

    Latency 0 (a multiplexer; ``o`` is combinational from the chosen input).
    Throughput: one beat per cycle, no gap between frames. Backpressure:
    ``o.ready`` reaches only the input whose frame is going out; an input
    waits at most for one frame from each other input.
    """

    def __init__(self, width: int, inputs: int = 2):
        check_width(width)
        if not isinstance(inputs, int) or inputs < 2:
            raise ValueError(f"inputs must be an integer of at least 2, not {inputs!r}")
        self._inputs = inputs
        super().__init__({"i": In(packet_signature(width)).array(inputs), "o": Out(packet_signature(width))})

    def elaborate(self, platform):
        m = Module()
        n = self._inputs
        owner = Signal(range(n))  # the input whose frame is going out, or was last served
        busy = Signal()  # a frame is part-way out

        # Between frames, the next input after the last served one that has a beat waiting.
        chosen = Signal(range(n))
        m.d.comb += chosen.eq(owner)
        for offset in reversed(range(1, n + 1)):  # the nearest one wins: assigned last
            candidate = (owner + offset) % n
            with m.If(Array(port.valid for port in self.i)[candidate]):
                m.d.comb += chosen.eq(candidate)
        select = Mux(busy, owner, chosen)

        for index, port in enumerate(self.i):
            with m.If(select == index):
                m.d.comb += [
                    self.o.valid.eq(port.valid),
                    self.o.payload.eq(port.payload),
                    port.ready.eq(self.o.ready),
                ]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [owner.eq(select), busy.eq(~self.o.payload.last)]
        return m


class ManagementPort(wiring.Component):
    """Shares one front port between the router core and the management channel.

    Members
    -------
    line_rx : In(packet_signature(width)), frames received on the port (from its MAC).
    line_tx : Out(packet_signature(width)), frames to send (to its MAC).
    core_rx : Out(packet_signature(width)), the port's non-management frames, to the core.
    core_tx : In(packet_signature(width)), the core's frames for the port.
    mgmt_rx : Out(packet_signature(1)), 0x88B5 frames, as bytes, to the management channel.
    mgmt_tx : In(packet_signature(1)), the channel's answers and PACKET_INs.

    Latency: :class:`EtherTypeSplitter` on receive (plus the 1-cycle narrower
    for management frames); on transmit, the :class:`FrameMerger` adds none
    and the widener 1 cycle. Backpressure: a management frame waiting for the
    channel holds up the port's receive side, never the core; on transmit,
    routed frames and management frames take turns, frame by frame.
    """

    def __init__(self, width: int):
        self._width = check_width(width)
        self.splitter = EtherTypeSplitter(width)
        self.merger = FrameMerger(width)
        super().__init__(
            {
                "line_rx": In(packet_signature(width)),
                "line_tx": Out(packet_signature(width)),
                "core_rx": Out(packet_signature(width)),
                "core_tx": In(packet_signature(width)),
                "mgmt_rx": Out(packet_signature(1)),
                "mgmt_tx": In(packet_signature(1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.splitter = splitter = self.splitter
        m.submodules.merger = merger = self.merger
        m.submodules.narrower = narrower = ByteNarrower(self._width)
        m.submodules.widener = widener = ByteWidener(self._width)

        wiring.connect(m, wiring.flipped(self.line_rx), splitter.i)
        wiring.connect(m, splitter.other, wiring.flipped(self.core_rx))
        wiring.connect(m, splitter.match, narrower.i)
        first = Signal(init=1)  # the next byte to the channel starts a frame
        with m.If(self.mgmt_rx.valid & self.mgmt_rx.ready):
            m.d.sync += first.eq(narrower.o.payload.last)
        m.d.comb += [
            self.mgmt_rx.valid.eq(narrower.o.valid),
            self.mgmt_rx.payload.data.eq(narrower.o.payload.data),
            self.mgmt_rx.payload.keep.eq(1),
            self.mgmt_rx.payload.first.eq(first),
            self.mgmt_rx.payload.last.eq(narrower.o.payload.last),
            narrower.o.ready.eq(self.mgmt_rx.ready),
        ]

        m.d.comb += [
            widener.i.valid.eq(self.mgmt_tx.valid),
            widener.i.payload.data.eq(self.mgmt_tx.payload.data),
            widener.i.payload.last.eq(self.mgmt_tx.payload.last),
            self.mgmt_tx.ready.eq(widener.i.ready),
        ]
        wiring.connect(m, wiring.flipped(self.core_tx), merger.i[0])
        wiring.connect(m, widener.o, merger.i[1])
        wiring.connect(m, merger.o, wiring.flipped(self.line_tx))
        return m
