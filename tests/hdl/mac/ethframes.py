"""Frames on the wire for the MAC tests, and what the MAC must make of them."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from cocotbext.eth import GmiiFrame

PREAMBLE = b"\x55" * 7 + b"\xd5"
MIN_FRAME = 64
MAX_FRAME = 1518

RX_COUNTERS = ("frames_ok", "errors", "oversize", "runts", "bad_fcs", "overflows")
TX_COUNTERS = ("frames", "underruns")


def fcs(payload: bytes) -> bytes:
    return struct.pack("<L", zlib.crc32(payload))


@dataclass
class WireFrame:
    """A frame as sent: its payload (FCS excluded) and how it is damaged, if at all."""

    payload: bytes
    bad_fcs: bool = False
    error_at: int | None = None  # index into the frame (after the SFD) where rx_er is raised
    preamble: bytes = PREAMBLE

    def gmii(self) -> GmiiFrame:
        check = fcs(self.payload)
        if self.bad_fcs:
            check = bytes([check[0] ^ 0x01]) + check[1:]
        data = self.preamble + self.payload + check
        error = None
        if self.error_at is not None:
            error = [0] * len(data)
            error[len(self.preamble) + self.error_at] = 1
        return GmiiFrame(data, error)

    def verdict(self, max_frame: int = MAX_FRAME) -> str:
        """The receive counter this frame must land in (the MAC's order of checks)."""
        length = len(self.payload) + 4
        if not self.preamble.endswith(b"\xd5"):
            return "ignored"
        if self.error_at is not None:
            return "errors"
        if length > max_frame:
            return "oversize"
        if length < MIN_FRAME:
            return "runts"
        if self.bad_fcs:
            return "bad_fcs"
        return "frames_ok"


def unpack_counters(value: int, names: tuple[str, ...], width: int = 32) -> dict[str, int]:
    mask = (1 << width) - 1
    return {name: (value >> (width * i)) & mask for i, name in enumerate(names)}


def padded(payload: bytes) -> bytes:
    """What a transmitting MAC puts on the wire before the FCS."""
    return payload + bytes(max(0, 60 - len(payload)))
