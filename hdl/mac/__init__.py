"""Ethernet MAC for the HDL data plane: GMII receive/transmit, packet FIFOs,
width conversion and clock-domain crossing into the core, and the RGMII PHY adapter."""

from .layout import BYTE_BEAT, GmiiRxSignature, GmiiTxSignature, packet_layout
from .mac import EthernetMac
from .packet_fifo import PacketFifo
from .rgmii import RgmiiPhy
from .rx import MacReceiver, RxStatistics
from .tx import MacTransmitter
from .width import ByteNarrower, ByteWidener

__all__ = [
    "BYTE_BEAT",
    "ByteNarrower",
    "ByteWidener",
    "EthernetMac",
    "GmiiRxSignature",
    "GmiiTxSignature",
    "MacReceiver",
    "MacTransmitter",
    "PacketFifo",
    "RgmiiPhy",
    "RxStatistics",
    "packet_layout",
]
