"""The parser: one per input port, frames in, header vectors and payload out.

The parser classifies everything about a frame that needs no table but the
ingress port's router MAC (DESIGN.md §1 steps 1-5 and the address classes
of step 6), so the shared match stages only look things up. Because step 5
compares the IPv4 total length with the bytes present, a frame's verdict is
known only at its last beat: the parser stores the frame in its payload FIFO
and emits the header vector when the last beat arrives (store and forward).
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, enum, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from sim.model.codes import (
    ARP_HEADER_LEN,
    ETH_HEADER_LEN,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    IPV4_MIN_HEADER_LEN,
    PACKET_OUT_HEADER_LEN,
    PORT_BITS,
    DropReason,
)

from .stream import beat_layout, beats_in, byte_count, check_width, packet_signature

#: Drop-counter index for frames longer than the core's ``max_frame`` (an HDL
#: limit the model does not have; DropReason leaves this index unused).
OVERSIZE_DROP = 15
#: Frame length counters saturate here.
LENGTH_BITS = 16
#: Bytes of the frame the parser captures: Ethernet + the fixed IPv4 fields it reads.
CAPTURE_BYTES = ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN
#: Last byte offset the IPv4 header checksum can cover (IHL 15), plus one.
CHECKSUM_END = ETH_HEADER_LEN + 4 * 15


class EarlyVerdict(enum.Enum, shape=2):
    """What the parser decided on its own."""

    LOOKUP = 0  # a sane IPv4 packet: the match stages decide
    PUNT_ARP = 1  # step 4
    DROP = 2  # ``HeaderVector.drop`` says why
    PACKET_OUT = 3  # from the CPU port, to ``HeaderVector.egress``


class HeaderVector(data.Struct):
    """The parser's summary of one frame, emitted at its last beat."""

    length: LENGTH_BITS  # bytes received (saturating)
    verdict: EarlyVerdict
    drop: 4  # DropReason (or OVERSIZE_DROP) when verdict is DROP
    egress: PORT_BITS  # packet_out.egress_port when verdict is PACKET_OUT
    routable_l2: 1  # destination MAC is the ingress port's router MAC
    to_router: 1  # destination 255.255.255.255 or in 224.0.0.0/24
    multicast: 1  # destination in 224.0.0.0/4
    dst: 32
    ttl: 8
    proto: 8
    checksum: 16


def _be(view: list, offset: int, size: int):
    """Big-endian field of ``size`` bytes at ``offset`` of a list of byte values."""
    return Cat(*reversed(view[offset : offset + size]))


class Parser(wiring.Component):
    """Parses the frames of one input port.

    Parameters
    ----------
    width : int
        Datapath width in bytes.
    num_ports : int
        Number of front ports (valid ``packet_out`` egress ports are 1..num_ports).
    max_frame : int
        Longest frame the payload FIFO holds whole; longer frames are cut
        short in the FIFO and dropped (``OVERSIZE_DROP``).
    cpu : bool
        This is the CPU port: frames start with ``packet_out`` and are only
        checked for a valid egress port.
    slack : int
        Beats of the next frame the payload FIFO absorbs while a
        ``max_frame`` frame waits for its verdict: at least the match
        pipeline's latency, or a port at full load with maximum frames is
        pushed back.

    Members
    -------
    i : In(packet)
        Frames from the port.
    payload : Out(packet)
        The frames again, in order, from the payload FIFO.
    header : Out(stream of HeaderVector)
        One header vector per frame, in order.
    router_mac, router_mac_valid : In
        The router MAC of this port (front ports only).
    active_ports : In
        Front ports in use, ``num_ports`` or fewer (CPU port only): a
        ``packet_out`` to a port above it drops as BAD_PACKET_OUT_PORT.

    Latency: the frame is classified in the cycle after its last beat is
    accepted, from registers only (the checksum's last addition and the
    classification would otherwise share a cycle with the beat's arrival,
    which was the core's longest path on the board builds), and its header
    vector leaves 2 cycles later (FIFO): 3 cycles after the last beat. The
    payload is readable 2 cycles after each beat.
    Backpressure: ``i.ready`` is low while the payload FIFO is full or the
    header FIFO has room for less than two vectors (one may be on its way);
    nothing is ever dropped here. The payload FIFO holds
    ``payload_depth`` beats, enough for a ``max_frame`` frame plus the next
    frame's beats that arrive while the first waits for its verdict.
    """

    #: Header vectors the FIFO holds (one more than the parser may need: one is
    #: classified while the port's next frame can end).
    HEADER_FIFO_DEPTH = 5
    #: Default ``slack``.
    PAYLOAD_SLACK = 64

    def __init__(
        self, *, width: int, num_ports: int, max_frame: int, cpu: bool = False, slack: int = PAYLOAD_SLACK
    ):
        self.width = check_width(width)
        if not isinstance(num_ports, int) or not 1 <= num_ports <= 254:
            raise ValueError(f"num_ports must be an integer 1..254, not {num_ports!r}")
        if not isinstance(max_frame, int) or not 64 <= max_frame <= (1 << LENGTH_BITS) - 8:
            raise ValueError(f"max_frame must be an integer 64..{(1 << LENGTH_BITS) - 8}, not {max_frame!r}")
        if not isinstance(slack, int) or slack < 0:
            raise ValueError(f"slack must be a number of beats >= 0, not {slack!r}")
        self.num_ports = num_ports
        self.max_frame = max_frame
        self.cpu = bool(cpu)
        self.payload_depth = beats_in(max_frame, width) + 1 + slack
        super().__init__(
            {
                "i": In(packet_signature(width)),
                "payload": Out(packet_signature(width)),
                "header": Out(stream.Signature(HeaderVector)),
                "router_mac": In(48),
                "router_mac_valid": In(1),
                "active_ports": In(8, init=num_ports),
            }
        )

    def elaborate(self, platform):
        m = Module()
        w = self.width
        layout = beat_layout(w)

        m.submodules.payload_fifo = payload_fifo = fifo.SyncFIFOBuffered(
            width=layout.size, depth=self.payload_depth
        )
        m.submodules.header_fifo = header_fifo = fifo.SyncFIFOBuffered(
            width=HeaderVector.as_shape().size, depth=self.HEADER_FIFO_DEPTH
        )
        wiring.connect(m, wiring.flipped(self.payload), payload_fifo.r_stream)
        wiring.connect(m, wiring.flipped(self.header), header_fifo.r_stream)

        beat_in = self.i.payload
        fire = Signal()
        m.d.comb += [
            self.i.ready.eq(payload_fifo.w_rdy & (header_fifo.w_level < self.HEADER_FIFO_DEPTH - 1)),
            fire.eq(self.i.valid & self.i.ready),
        ]

        # Position in the frame: beat index (saturating once past every byte
        # the parser reads) and bytes so far (saturating).
        capture_beats = beats_in(max(CAPTURE_BYTES, CHECKSUM_END), w)
        beat = Signal(range(capture_beats + 1))
        length = Signal(LENGTH_BITS)
        count = Signal(range(w + 1))
        m.d.comb += count.eq(beat_byte_count(beat_in, w))
        length_sum = Signal(LENGTH_BITS + 1)
        length_next = Signal(LENGTH_BITS)
        m.d.comb += [
            length_sum.eq(length + count),
            length_next.eq(length_sum[LENGTH_BITS:].any().replicate(LENGTH_BITS) | length_sum),
        ]

        # Header bytes: registers filled as beats pass; ``view`` also shows
        # the current beat's bytes, so the last beat can be classified at once.
        nbytes = PACKET_OUT_HEADER_LEN if self.cpu else CAPTURE_BYTES
        captured = [Signal(8, name=f"hdr{j}") for j in range(nbytes)]
        view = []
        for j, reg in enumerate(captured):
            lane = beat_in.data[8 * (j % w) : 8 * (j % w) + 8]
            here = beat == j // w
            byte = Signal(8, name=f"view{j}")
            m.d.comb += byte.eq(reg)
            with m.If(here):
                m.d.comb += byte.eq(lane)
            with m.If(fire & here):
                m.d.sync += reg.eq(lane)
            view.append(byte)

        # A frame longer than max_frame keeps only its first max_frame bytes
        # (and its last beat, which closes it) in the FIFO.
        keep_beat = (length < self.max_frame) | beat_in.last
        written = Signal.like(beat_in)
        m.d.comb += [
            written.eq(beat_in),
            written.first.eq(beat == 0),
            payload_fifo.w_data.eq(written),
            payload_fifo.w_en.eq(fire & keep_beat),
        ]
        with m.If(~beat_in.last):
            m.d.comb += written.keep.eq(Const(-1, w))

        # Classified the cycle after the last beat: `captured` then holds what `view`
        # showed in the last beat's cycle (a next frame's first beat overwrites
        # its bytes only at the end of that cycle).
        ending = fire & beat_in.last
        done = Signal()  # a frame's last beat was accepted in the previous cycle
        length_done = Signal(LENGTH_BITS)
        m.d.sync += done.eq(ending)
        with m.If(ending):
            m.d.sync += length_done.eq(length_next)
        header = Signal(HeaderVector)
        m.d.comb += [
            header.length.eq(length_done),
            header_fifo.w_data.eq(header),
            header_fifo.w_en.eq(done),
        ]
        oversize = length_done > self.max_frame
        if self.cpu:
            self._classify_packet_out(m, header, captured, length_done)
        else:
            checksum = self._checksum(m, beat, fire, beat_in, count, view)
            self._classify_front(m, header, captured, length_done, checksum)
        with m.If(oversize):
            m.d.comb += [header.verdict.eq(EarlyVerdict.DROP), header.drop.eq(OVERSIZE_DROP)]

        with m.If(fire):
            with m.If(beat_in.last):
                m.d.sync += [beat.eq(0), length.eq(0)]
            with m.Else():
                m.d.sync += length.eq(length_next)
                with m.If(beat != capture_beats):
                    m.d.sync += beat.eq(beat + 1)
        return m

    def _checksum(self, m, beat, fire, beat_in, count, view):
        """One's complement sum over the IPv4 header (4*IHL bytes) of the frame that
        ended in the previous cycle, folded."""
        w = self.width
        ihl = view[ETH_HEADER_LEN][:4]
        header_end = Signal(range(CHECKSUM_END + 1))
        m.d.comb += header_end.eq(ETH_HEADER_LEN + (ihl << 2))
        acc = Signal(24)
        terms = []
        for lane in range(w):
            offset = Signal(range(beats_in(CHECKSUM_END, w) * w + w + 1), name=f"offset{lane}")
            m.d.comb += offset.eq(beat * w + lane)
            inside = (offset >= ETH_HEADER_LEN) & (offset < header_end) & (lane < count)
            byte = beat_in.data[8 * lane : 8 * lane + 8]
            # Even offsets are the high byte of a 16-bit word.
            term = Signal(16, name=f"csum_term{lane}")
            with m.If(inside):
                with m.If(offset[0]):
                    m.d.comb += term.eq(byte)
                with m.Else():
                    m.d.comb += term.eq(byte << 8)
            terms.append(term)
        acc_next = Signal(24)
        total = Signal(24)  # the sum over the frame that ended in the previous cycle
        m.d.comb += acc_next.eq(acc + sum(terms))
        with m.If(fire):
            m.d.sync += acc.eq(acc_next)
            with m.If(beat_in.last):
                m.d.sync += [acc.eq(0), total.eq(acc_next)]
        folded = Signal(17)
        result = Signal(16)
        m.d.comb += [
            folded.eq(total[:16] + total[16:]),
            result.eq(folded[:16] + folded[16]),
        ]
        return result

    def _classify_front(self, m, header, view, length, checksum):
        """DESIGN.md §1 steps 2-5 and the address classes of step 6, in the contract's order."""
        dst_mac = _be(view, 0, 6)
        ethertype = _be(view, 12, 2)
        version = view[ETH_HEADER_LEN][4:]
        ihl = view[ETH_HEADER_LEN][:4]
        total_length = _be(view, ETH_HEADER_LEN + 2, 2)
        src = _be(view, ETH_HEADER_LEN + 12, 4)
        dst = _be(view, ETH_HEADER_LEN + 16, 4)
        header_bytes = Signal(7)
        m.d.comb += header_bytes.eq(ihl << 2)

        is_arp = ethertype == ETHERTYPE_ARP
        is_ipv4 = ethertype == ETHERTYPE_IPV4
        broadcast = dst_mac == (1 << 48) - 1
        l2_multicast = dst_mac[23:] == (0x01005E << 1)
        routable = self.router_mac_valid & (dst_mac == self.router_mac)
        arp_ipv4 = (_be(view, 14, 2) == 1) & (_be(view, 16, 2) == ETHERTYPE_IPV4)
        arp_ipv4 &= (view[18] == 6) & (view[19] == 4)
        ipv4_needed = Signal(range(CHECKSUM_END + 1))
        m.d.comb += ipv4_needed.eq(ETH_HEADER_LEN + (Mux(ihl < 5, 5, ihl) << 2))
        truncated = (
            (length < ETH_HEADER_LEN)
            | (is_arp & (length < ETH_HEADER_LEN + ARP_HEADER_LEN))
            | (is_ipv4 & ((length < ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN) | (length < ipv4_needed)))
        )
        martian = (src[24:] == 0) | (src[24:] == 127) | (src[28:] == 0xE) | (src == 0xFFFFFFFF)

        m.d.comb += [
            header.routable_l2.eq(routable),
            header.to_router.eq((dst == 0xFFFFFFFF) | (dst[8:] == 0xE00000)),
            header.multicast.eq(dst[28:] == 0xE),
            header.dst.eq(dst),
            header.ttl.eq(view[ETH_HEADER_LEN + 8]),
            header.proto.eq(view[ETH_HEADER_LEN + 9]),
            header.checksum.eq(_be(view, ETH_HEADER_LEN + 10, 2)),
        ]

        def drop(reason: DropReason):
            return [header.verdict.eq(EarlyVerdict.DROP), header.drop.eq(reason)]

        with m.If(truncated):
            m.d.comb += drop(DropReason.TRUNCATED)
        with m.Elif(~routable & ~broadcast & ~l2_multicast):
            m.d.comb += drop(DropReason.NOT_FOR_US)
        with m.Elif(~is_arp & ~is_ipv4):
            m.d.comb += drop(DropReason.UNSUPPORTED_ETHERTYPE)
        with m.Elif(is_arp & ~arp_ipv4):
            m.d.comb += drop(DropReason.UNSUPPORTED_ETHERTYPE)
        with m.Elif(is_arp & l2_multicast):
            m.d.comb += drop(DropReason.NOT_ROUTABLE_L2)
        with m.Elif(is_arp):
            m.d.comb += header.verdict.eq(EarlyVerdict.PUNT_ARP)
        with m.Elif(version != 4):
            m.d.comb += drop(DropReason.IPV4_VERSION)
        with m.Elif(ihl < 5):
            m.d.comb += drop(DropReason.IPV4_IHL)
        with m.Elif((total_length < header_bytes) | (total_length > length - ETH_HEADER_LEN)):
            m.d.comb += drop(DropReason.IPV4_LENGTH)
        with m.Elif(checksum != 0xFFFF):
            m.d.comb += drop(DropReason.IPV4_CHECKSUM)
        with m.Elif(martian):
            m.d.comb += drop(DropReason.MARTIAN_SOURCE)
        with m.Else():
            m.d.comb += header.verdict.eq(EarlyVerdict.LOOKUP)

    def _classify_packet_out(self, m, header, view, length):
        """DESIGN.md §1 step 1: a frame from the CPU port goes to packet_out.egress_port."""
        egress = _be(view, 0, PACKET_OUT_HEADER_LEN)
        m.d.comb += header.egress.eq(egress)
        with m.If(length < PACKET_OUT_HEADER_LEN):
            m.d.comb += [header.verdict.eq(EarlyVerdict.DROP), header.drop.eq(DropReason.TRUNCATED)]
        with m.Elif((egress == 0) | (egress > self.active_ports)):
            m.d.comb += [
                header.verdict.eq(EarlyVerdict.DROP),
                header.drop.eq(DropReason.BAD_PACKET_OUT_PORT),
            ]
        with m.Else():
            m.d.comb += header.verdict.eq(EarlyVerdict.PACKET_OUT)


def beat_byte_count(beat, width: int):
    """Bytes a beat carries: ``width``, or the ``keep`` count on a frame's last beat."""
    return Mux(beat.last, byte_count(beat.keep, width), width)
