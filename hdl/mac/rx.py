"""MAC receive: GMII bytes in, whole good frames out."""

from __future__ import annotations

from amaranth import Array, Module, Signal
from amaranth.lib import crc, data, stream, wiring
from amaranth.lib.wiring import In, Out

from .layout import BYTE_BEAT, GmiiRxSignature
from .packet_fifo import PacketFifo

PREAMBLE_BYTE = 0x55
SFD = 0xD5
#: The shortest legal frame, FCS included (IEEE 802.3 clause 4.4.2).
MIN_FRAME = 64
#: The longest untagged frame, FCS included.
MAX_FRAME = 1518
FCS_BYTES = 4
# The FCS is stripped by holding the newest FCS_BYTES + 1 bytes back: when the
# frame ends, the oldest of them is the last byte of the frame proper.
_HOLD = FCS_BYTES + 1


def rx_statistics_layout(counter_width: int) -> data.StructLayout:
    """Receive counters; each frame is counted once, under the first reason that applies."""
    return data.StructLayout(
        {
            "frames_ok": counter_width,  # committed to the core
            "errors": counter_width,  # the PHY flagged a receive error (rx_er)
            "oversize": counter_width,  # longer than max_frame
            "runts": counter_width,  # shorter than 64 bytes
            "bad_fcs": counter_width,  # FCS mismatch
            "overflows": counter_width,  # no room in the packet FIFO
        }
    )


#: Counter layout at the default 32-bit width.
RxStatistics = rx_statistics_layout(32)


class MacReceiver(wiring.Component):
    """Receives frames from a GMII receive interface (1 byte per cycle).

    It finds the start of frame (preamble bytes 0x55, then the SFD 0xD5; a
    shortened preamble is accepted), checks the FCS (CRC-32, one byte per clock),
    the length (64 bytes up to ``max_frame``, FCS included) and the PHY's error
    flag, strips the FCS and hands each good frame on through a
    :class:`PacketFifo`, so that ``r`` only ever carries whole good frames. Every
    frame that does not pass is dropped and counted in ``stats``.

    Parameters
    ----------
    max_frame : int
        Longest accepted frame in bytes, FCS included: 1518 by default (1522 for
        VLAN-tagged, up to 9018 or so for jumbo frames).
    fifo_depth : int
        Packet FIFO capacity in bytes, a power of two of at least ``max_frame``.
    counter_width : int
        Width of each statistics counter; counters wrap around.

    Members
    -------
    gmii : In(GmiiRxSignature())
        Receive bytes from the PHY, sampled every cycle.
    r : Out(stream.Signature(BYTE_BEAT))
        Good frames without FCS, each byte with ``last`` on the final one.
        Backpressure only fills the packet FIFO; frames that find it full are
        dropped and counted as ``overflows`` (a GMII receiver cannot wait).
    stats : Out(rx_statistics_layout(counter_width))
        Drop and receive counters, updated one cycle after a frame ends.

    Latency: a frame's first byte leaves at ``r`` 9 cycles after the end of
    its FCS (judge, commit, then the packet FIFO's 7; store and forward).
    """

    def __init__(self, *, max_frame: int = MAX_FRAME, fifo_depth: int = 2048, counter_width: int = 32):
        if not isinstance(max_frame, int) or not MIN_FRAME <= max_frame <= 16383:
            raise ValueError(f"max_frame must be an integer in {MIN_FRAME}..16383, not {max_frame!r}")
        if not isinstance(fifo_depth, int) or fifo_depth <= max_frame:
            raise ValueError(
                f"fifo_depth ({fifo_depth!r}) must exceed max_frame ({max_frame}): a FIFO holds frames of depth - 1 bytes"
            )
        if not isinstance(counter_width, int) or not 1 <= counter_width <= 64:
            raise ValueError(f"counter_width must be an integer in 1..64, not {counter_width!r}")
        self._max_frame = max_frame
        self._fifo = PacketFifo(fifo_depth)
        super().__init__(
            {
                "gmii": In(GmiiRxSignature()),
                "r": Out(stream.Signature(BYTE_BEAT)),
                "stats": Out(rx_statistics_layout(counter_width)),
            }
        )

    @property
    def max_frame(self) -> int:
        return self._max_frame

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = self._fifo
        m.submodules.fcs = fcs = crc.catalog.CRC32_ETHERNET(8).create()
        wiring.connect(m, wiring.flipped(self.r), fifo.r)

        gmii = self.gmii
        held = Array(Signal(8, name=f"held{i}") for i in range(_HOLD))  # held[0] is the newest
        held_count = Signal(range(_HOLD + 1))
        # The frame's verdict is kept in registers as bytes arrive, so that the end-of-frame
        # decision is a few gates deep (it is on the 125 MHz critical path).
        length = Signal(range(self._max_frame + 1))  # bytes so far, up to max_frame
        long_enough = Signal()  # at least MIN_FRAME bytes
        oversize = Signal()  # more than max_frame bytes
        rx_error = Signal()
        lost_byte = Signal()  # a byte met a full packet FIFO
        fcs_ok = Signal()
        room = Signal()  # the packet FIFO can take the last byte
        commit = Signal()  # the verdict: commit the frame (else discard it)

        # A byte goes to the packet FIFO a cycle after it leaves the hold, from registers:
        # the FIFO's store decision then starts at a flip-flop, not at the PHY's `dv`
        # (that chain was the 125 MHz receive clocks' longest path on the 25F).
        writing = Signal()
        written = Signal(8)
        m.d.sync += writing.eq(0)
        m.d.comb += [
            fcs.data.eq(gmii.data),
            fifo.w.valid.eq(writing),
            fifo.w.payload.data.eq(written),
        ]
        with m.If(writing & ~fifo.w.ready):
            m.d.sync += lost_byte.eq(1)

        with m.FSM(name="rx"):
            with m.State("Idle"):
                m.d.comb += fcs.start.eq(1)
                m.d.sync += [
                    held_count.eq(0),
                    length.eq(0),
                    long_enough.eq(0),
                    oversize.eq(0),
                    rx_error.eq(0),
                    lost_byte.eq(0),
                ]
                with m.If(gmii.dv & (gmii.data == SFD)):
                    m.next = "Frame"
                with m.Elif(gmii.dv & (gmii.data == PREAMBLE_BYTE)):
                    m.next = "Preamble"
                with m.Elif(gmii.dv):
                    m.next = "Discard"

            with m.State("Preamble"):
                with m.If(~gmii.dv):
                    m.next = "Idle"
                with m.Elif(gmii.data == SFD):
                    m.next = "Frame"
                with m.Elif(gmii.data != PREAMBLE_BYTE):
                    m.next = "Discard"

            with m.State("Frame"):
                with m.If(gmii.dv):
                    m.d.comb += fcs.valid.eq(1)
                    m.d.sync += held[0].eq(gmii.data)
                    m.d.sync += [held[i].eq(held[i - 1]) for i in range(1, _HOLD)]
                    with m.If(held_count != _HOLD):
                        m.d.sync += held_count.eq(held_count + 1)
                    with m.If(length == self._max_frame):
                        m.d.sync += oversize.eq(1)
                    with m.Else():
                        m.d.sync += length.eq(length + 1)
                    with m.If(length == MIN_FRAME - 1):
                        m.d.sync += long_enough.eq(1)
                    with m.If(gmii.er):
                        m.d.sync += rx_error.eq(1)
                    # Pass the oldest held byte on; stop writing a frame that is already lost.
                    with m.If((held_count == _HOLD) & ~oversize & ~lost_byte):
                        m.d.sync += [writing.eq(1), written.eq(held[_HOLD - 1])]
                with m.Else():
                    # The FIFO's ready covers the byte written now and one more: the
                    # last, written in Commit.
                    m.d.sync += [fcs_ok.eq(fcs.match_detected), room.eq(fifo.w.ready)]
                    m.next = "Judge"

            # The frame has ended: judge and count it from registers, then commit or discard
            # it a cycle later. (The next frame's first preamble bytes, should they come
            # this early, are not needed.)
            with m.State("Judge"):
                self._judge(m, fcs_ok, long_enough, rx_error, oversize, lost_byte, room, commit)
                m.next = "Commit"

            with m.State("Commit"):
                m.d.comb += [
                    fifo.w.valid.eq(commit),
                    fifo.w.payload.data.eq(held[_HOLD - 1]),
                    fifo.w.payload.last.eq(1),
                    fifo.w_abort.eq(~commit),
                ]
                m.next = "Idle"

            # A frame without a valid start: wait for its end.
            with m.State("Discard"), m.If(~gmii.dv):
                m.next = "Idle"

        return m

    def _judge(self, m, fcs_ok, long_enough, rx_error, oversize, lost_byte, room, commit):
        """Count the frame that just ended under its verdict; ``commit`` it if it is good."""
        stats = self.stats
        m.d.sync += commit.eq(0)
        with m.If(rx_error):
            m.d.sync += stats.errors.eq(stats.errors + 1)
        with m.Elif(oversize):
            m.d.sync += stats.oversize.eq(stats.oversize + 1)
        with m.Elif(~long_enough):
            m.d.sync += stats.runts.eq(stats.runts + 1)
        with m.Elif(~fcs_ok):
            m.d.sync += stats.bad_fcs.eq(stats.bad_fcs + 1)
        with m.Elif(lost_byte | ~room):
            m.d.sync += stats.overflows.eq(stats.overflows + 1)
        with m.Else():
            m.d.sync += [stats.frames_ok.eq(stats.frames_ok + 1), commit.eq(1)]
