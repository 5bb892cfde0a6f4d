"""Payload layouts and GMII signatures shared by the MAC's parts.

The MAC moves frames between its parts as a byte stream (``BYTE_BEAT``:
one byte and ``last``). Towards the core it speaks the core's packet stream
(:mod:`hdl.stream`): beats of W bytes with ``data``, ``keep``, ``first``, ``last``.
"""

from __future__ import annotations

from amaranth.lib import data, wiring
from amaranth.lib.wiring import Out

from hdl.stream import beat_layout, check_width

#: One byte of a frame; ``last`` marks the frame's final byte.
BYTE_BEAT = data.StructLayout({"data": 8, "last": 1})

#: The core's beat layout, ``width`` bytes wide.
packet_layout = beat_layout


class GmiiRxSignature(wiring.Signature):
    """GMII receive side, as seen from the PHY (the MAC takes it flipped).

    Members: ``dv`` (data valid), ``er`` (receive error), ``data`` (one byte).
    """

    def __init__(self):
        super().__init__({"dv": Out(1), "er": Out(1), "data": Out(8)})


class GmiiTxSignature(wiring.Signature):
    """GMII transmit side, as driven by the MAC.

    Members: ``en`` (transmit enable), ``er`` (transmit error), ``data`` (one byte).
    """

    def __init__(self):
        super().__init__({"en": Out(1), "er": Out(1), "data": Out(8)})


__all__ = [
    "BYTE_BEAT",
    "GmiiRxSignature",
    "GmiiTxSignature",
    "check_width",
    "packet_layout",
]
