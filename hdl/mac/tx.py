"""MAC transmit: frames in, GMII bytes with preamble, padding and FCS out."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import crc, data, stream, wiring
from amaranth.lib.wiring import In, Out

from .layout import BYTE_BEAT, GmiiTxSignature
from .rx import FCS_BYTES, MIN_FRAME, PREAMBLE_BYTE, SFD

PREAMBLE_BYTES = 7
#: Frames shorter than this (FCS excluded) are padded with zeros.
MIN_PAYLOAD = MIN_FRAME - FCS_BYTES
#: Minimum inter-frame gap in byte times (96 bit times).
MIN_IFG = 12


def tx_statistics_layout(counter_width: int) -> data.StructLayout:
    return data.StructLayout(
        {
            "frames": counter_width,  # frames sent
            "underruns": counter_width,  # frames that ran dry mid-way (sent with tx_er)
        }
    )


class MacTransmitter(wiring.Component):
    """Sends frames on a GMII transmit interface (1 byte per cycle).

    Each frame gets 7 preamble bytes and the SFD, is padded with zeros to 60
    bytes, gets its FCS (CRC-32, one byte per clock) appended, and is followed by
    at least ``ifg`` idle byte times.

    Parameters
    ----------
    ifg : int
        Inter-frame gap in byte times, at least 12.
    counter_width : int
        Width of each statistics counter; counters wrap around.

    Members
    -------
    w : In(stream.Signature(BYTE_BEAT))
        Frames to send, without FCS. ``w.ready`` is high only while the frame's
        bytes are being sent, one per cycle. Once a frame has started, its bytes
        must follow back to back (feed it from a :class:`PacketFifo`); a missing
        byte is sent as a GMII error (``tx_er``), so the receiver drops the frame,
        and is counted in ``stats.underruns``.
    gmii : Out(GmiiTxSignature())
        Registered GMII outputs.
    stats : Out(tx_statistics_layout(counter_width))

    Latency: the first preamble byte is on ``gmii`` 2 cycles after ``w.valid``
    rises (when the gap allows); a frame's first byte is taken 8 cycles later.
    """

    def __init__(self, *, ifg: int = MIN_IFG, counter_width: int = 32):
        if not isinstance(ifg, int) or not MIN_IFG <= ifg <= 255:
            raise ValueError(f"ifg must be an integer in {MIN_IFG}..255 byte times, not {ifg!r}")
        if not isinstance(counter_width, int) or not 1 <= counter_width <= 64:
            raise ValueError(f"counter_width must be an integer in 1..64, not {counter_width!r}")
        self._ifg = ifg
        super().__init__(
            {
                "w": In(stream.Signature(BYTE_BEAT)),
                "gmii": Out(GmiiTxSignature()),
                "stats": Out(tx_statistics_layout(counter_width)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.fcs = fcs = crc.catalog.CRC32_ETHERNET(8).create()
        gmii, stats = self.gmii, self.stats

        count = Signal(range(MIN_PAYLOAD + 1))  # preamble, payload or FCS byte index
        gap = Signal(range(self._ifg + 1))
        underrun = Signal()
        long_enough = Signal()  # the frame has MIN_PAYLOAD bytes already
        m.d.comb += fcs.data.eq(self.w.payload.data)
        m.d.sync += [gmii.en.eq(0), gmii.er.eq(0), gmii.data.eq(0)]

        with m.FSM(name="tx"):
            with m.State("Idle"):
                m.d.comb += fcs.start.eq(1)
                m.d.sync += [count.eq(0), underrun.eq(0), long_enough.eq(0)]
                with m.If(gap != 0):
                    m.d.sync += gap.eq(gap - 1)
                with m.Elif(self.w.valid):
                    m.next = "Preamble"

            with m.State("Preamble"):
                m.d.sync += [gmii.en.eq(1), gmii.data.eq(PREAMBLE_BYTE), count.eq(count + 1)]
                with m.If(count == PREAMBLE_BYTES):
                    m.d.sync += [gmii.data.eq(SFD), count.eq(0)]
                    m.next = "Data"

            with m.State("Data"):
                m.d.comb += self.w.ready.eq(1)
                m.d.sync += gmii.en.eq(1)
                with m.If(self.w.valid):
                    m.d.comb += fcs.valid.eq(1)
                    m.d.sync += gmii.data.eq(self.w.payload.data)
                    # Counted only up to the minimum, in a flag, to keep this path short.
                    reaches_minimum = long_enough | (count == MIN_PAYLOAD - 1)
                    with m.If(~long_enough):
                        m.d.sync += [count.eq(count + 1), long_enough.eq(count == MIN_PAYLOAD - 1)]
                    with m.If(self.w.payload.last):
                        with m.If(reaches_minimum):
                            m.d.sync += count.eq(0)
                            m.next = "Fcs"
                        with m.Else():
                            m.next = "Pad"
                with m.Else():
                    m.d.sync += [gmii.er.eq(1), underrun.eq(1)]

            with m.State("Pad"):
                m.d.comb += [fcs.valid.eq(1), fcs.data.eq(0)]
                m.d.sync += [gmii.en.eq(1), count.eq(count + 1)]
                with m.If(count == MIN_PAYLOAD - 1):
                    m.d.sync += count.eq(0)
                    m.next = "Fcs"

            with m.State("Fcs"):
                m.d.sync += [gmii.en.eq(1), gmii.data.eq(fcs.crc.word_select(count, 8)), count.eq(count + 1)]
                with m.If(count == FCS_BYTES - 1):
                    m.d.sync += gap.eq(self._ifg - 1)
                    with m.If(underrun):
                        m.d.sync += stats.underruns.eq(stats.underruns + 1)
                    with m.Else():
                        m.d.sync += stats.frames.eq(stats.frames + 1)
                    m.next = "Idle"

        return m
