"""The whole MAC: GMII on the line side, the core's packet streams on the other."""

from __future__ import annotations

from amaranth import DomainRenamer, Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .cdc import StreamAsyncFifo
from .layout import BYTE_BEAT, GmiiRxSignature, GmiiTxSignature, check_width, packet_layout
from .packet_fifo import PacketFifo
from .rx import MAX_FRAME, MacReceiver, rx_statistics_layout
from .skid import StreamSkid
from .tx import MIN_IFG, MacTransmitter, tx_statistics_layout
from .width import ByteNarrower, ByteWidener


class EthernetMac(wiring.Component):
    """An Ethernet MAC between a GMII PHY interface and the core's datapath.

    Receive, in ``rx_domain`` (the PHY's receive clock): :class:`MacReceiver`
    (checks, counts and drops bad frames, strips the FCS, stores whole frames)
    then :class:`ByteWidener`, then an asynchronous FIFO into ``sync`` (the
    core's clock). Transmit: an asynchronous FIFO from ``sync`` into
    ``tx_domain``, then :class:`ByteNarrower`, a :class:`PacketFifo` that
    releases only whole frames (so the line never runs dry mid-frame, whatever
    the core's clock), and :class:`MacTransmitter`.

    Parameters
    ----------
    width : int
        Core datapath width in bytes (1, 2, 4 or 8).
    max_frame : int
        Longest frame received, FCS included (1518; more for jumbo frames).
    rx_fifo_depth, tx_fifo_depth : int
        Packet FIFO capacities in bytes, powers of two of at least ``max_frame``.
        2048 (the default) is one ECP5 block RAM at 9 bits wide; deeper FIFOs
        cascade block RAMs through an output multiplexer that costs 125 MHz on a
        speed-6 part.
    cdc_depth : int
        Entries of each clock-crossing FIFO.
    ifg : int
        Transmit inter-frame gap in byte times (at least 12).
    rx_domain, tx_domain : str
        Clock domains of the GMII receive and transmit sides (125 MHz at 1 Gb/s).

    Members
    -------
    gmii_rx : In(GmiiRxSignature()), in ``rx_domain``
    gmii_tx : Out(GmiiTxSignature()), in ``tx_domain``
    rx : Out(stream.Signature(packet_layout(width))), in ``sync``
        Good received frames, FCS stripped. Backpressure fills the receive
        packet FIFO; frames that find it full are dropped and counted.
    tx : In(stream.Signature(packet_layout(width))), in ``sync``
        Frames to send, without FCS (padding and FCS are added). ``tx.ready``
        falls when the transmit FIFOs are full.
    rx_stats : Out(rx_statistics_layout(32)), in ``rx_domain``
    tx_stats : Out(tx_statistics_layout(32)), in ``tx_domain``

    Latency: a received frame starts at ``rx`` about 10 receive-clock cycles
    (judging, committing, prefetch, widening, register slice) plus the clock
    crossing (about 4 core cycles) after its FCS ends; a frame at ``tx`` starts on the line once
    its last beat has crossed into ``tx_domain`` (store and forward).
    """

    def __init__(
        self,
        *,
        width: int,
        max_frame: int = MAX_FRAME,
        rx_fifo_depth: int = 2048,
        tx_fifo_depth: int = 2048,
        cdc_depth: int = 16,
        ifg: int = MIN_IFG,
        rx_domain: str = "eth_rx",
        tx_domain: str = "eth_tx",
    ):
        self._width = check_width(width)
        self._rx_domain, self._tx_domain = rx_domain, tx_domain
        if not isinstance(tx_fifo_depth, int) or tx_fifo_depth <= max_frame:
            raise ValueError(
                f"tx_fifo_depth ({tx_fifo_depth!r}) must exceed max_frame ({max_frame}): a FIFO holds frames of depth - 1 bytes"
            )
        layout = packet_layout(width)
        to_rx = DomainRenamer(rx_domain)
        to_tx = DomainRenamer(tx_domain)
        self._receiver = to_rx(MacReceiver(max_frame=max_frame, fifo_depth=rx_fifo_depth))
        self._widener = to_rx(ByteWidener(width))
        self._rx_cdc = StreamAsyncFifo(layout, depth=cdc_depth, w_domain=rx_domain, r_domain="sync")
        self._tx_cdc = StreamAsyncFifo(layout, depth=cdc_depth, w_domain="sync", r_domain=tx_domain)
        self._narrower = to_tx(ByteNarrower(width))
        self._tx_fifo = to_tx(PacketFifo(tx_fifo_depth))
        self._transmitter = to_tx(MacTransmitter(ifg=ifg))
        super().__init__(
            {
                "gmii_rx": In(GmiiRxSignature()),
                "gmii_tx": Out(GmiiTxSignature()),
                "rx": Out(stream.Signature(layout)),
                "tx": In(stream.Signature(layout)),
                "rx_stats": Out(rx_statistics_layout(32)),
                "tx_stats": Out(tx_statistics_layout(32)),
            }
        )

    @property
    def width(self) -> int:
        return self._width

    def elaborate(self, platform):
        m = Module()
        m.submodules.receiver = receiver = self._receiver
        m.submodules.widener = widener = self._widener
        m.submodules.rx_cdc = rx_cdc = self._rx_cdc
        m.submodules.tx_cdc = tx_cdc = self._tx_cdc
        m.submodules.narrower = narrower = self._narrower
        m.submodules.tx_fifo = tx_fifo = self._tx_fifo
        m.submodules.transmitter = transmitter = self._transmitter

        wiring.connect(m, wiring.flipped(self.gmii_rx), receiver.gmii)
        # Register slices around the converters keep the 125 MHz paths short.
        to_rx, to_tx = DomainRenamer(self._rx_domain), DomainRenamer(self._tx_domain)
        m.submodules.rx_slice = rx_slice = to_rx(StreamSkid(widener.o.payload.shape()))
        wiring.connect(m, receiver.r, widener.i)
        wiring.connect(m, widener.o, rx_slice.i)
        wiring.connect(m, rx_slice.o, rx_cdc.w)
        wiring.connect(m, rx_cdc.r, wiring.flipped(self.rx))

        wiring.connect(m, wiring.flipped(self.tx), tx_cdc.w)
        m.submodules.tx_slice_wide = tx_slice_wide = to_tx(StreamSkid(narrower.i.payload.shape()))
        m.submodules.tx_slice_byte = tx_slice_byte = to_tx(StreamSkid(BYTE_BEAT))
        wiring.connect(m, tx_cdc.r, tx_slice_wide.i)
        wiring.connect(m, tx_slice_wide.o, narrower.i)
        wiring.connect(m, narrower.o, tx_slice_byte.i)
        wiring.connect(m, tx_slice_byte.o, tx_fifo.w)
        wiring.connect(m, tx_fifo.r, transmitter.w)
        wiring.connect(m, transmitter.gmii, wiring.flipped(self.gmii_tx))

        m.d.comb += [self.rx_stats.eq(receiver.stats), self.tx_stats.eq(transmitter.stats)]
        return m
