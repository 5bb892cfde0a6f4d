"""The two OSPF checksums: the packet's (RFC 1071) and the LSA's (Fletcher, RFC 2328 §12.1.7)."""

from __future__ import annotations

from controller.ospf.constants import HEADER_LENGTH
from sim.model.checksum import internet_checksum

_CHECKSUM_OFFSET = 12  # in the OSPF header
_AUTH_OFFSET = 16  # the 64-bit authentication field, left out of the packet checksum
_LSA_CHECKSUM_OFFSET = 16  # in the LSA header


def packet_checksum(packet: bytes) -> int:
    """The header checksum of an OSPF packet: over everything but the checksum and auth fields."""
    covered = packet[:_CHECKSUM_OFFSET] + b"\x00\x00" + packet[_CHECKSUM_OFFSET + 2 : _AUTH_OFFSET]
    return internet_checksum(covered + packet[HEADER_LENGTH:])


def _fletcher_sums(data: bytes) -> tuple[int, int]:
    c0 = c1 = 0
    # Reducing every 4096 bytes keeps the integers small without a modulo per byte.
    for start in range(0, len(data), 4096):
        for byte in data[start : start + 4096]:
            c0 += byte
            c1 += c0
        c0 %= 255
        c1 %= 255
    return c0, c1


def lsa_checksum(lsa: bytes) -> int:
    """The Fletcher checksum to store in an LSA (ISO 8473 Annex C), computed without the LS age.

    ``lsa`` is the whole LSA, header included; its checksum field is ignored.
    """
    data = lsa[2:_LSA_CHECKSUM_OFFSET] + b"\x00\x00" + lsa[_LSA_CHECKSUM_OFFSET + 2 :]
    offset = _LSA_CHECKSUM_OFFSET - 2
    c0, c1 = _fletcher_sums(data)
    x = ((len(data) - offset - 1) * c0 - c1) % 255 or 255
    y = 510 - c0 - x
    if y > 255:
        y -= 255
    return (x << 8) | y


def lsa_checksum_ok(lsa: bytes) -> bool:
    """Both Fletcher sums over the LSA (LS age left out) are zero; a zero checksum is never valid."""
    if len(lsa) < _LSA_CHECKSUM_OFFSET + 2 or lsa[_LSA_CHECKSUM_OFFSET : _LSA_CHECKSUM_OFFSET + 2] == b"\0\0":
        return False
    return _fletcher_sums(lsa[2:]) == (0, 0)
