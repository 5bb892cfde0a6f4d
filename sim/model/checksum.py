"""Internet checksum arithmetic (RFC 1071, RFC 1624)."""

from __future__ import annotations


def ones_complement_add(a: int, b: int) -> int:
    """16-bit one's complement addition with end-around carry."""
    total = a + b
    return (total & 0xFFFF) + (total >> 16)


def ones_complement_sum(data: bytes) -> int:
    """One's complement sum of big-endian 16-bit words (odd length padded with a zero byte)."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes) -> int:
    """The checksum to store in a header whose checksum field is zero in ``data``."""
    return ~ones_complement_sum(data) & 0xFFFF


def checksum_ok(header: bytes) -> bool:
    """RFC 1071 verification: the sum over the header, checksum included, is all ones.

    This accepts both representations of zero in the checksum field (0x0000
    and 0xFFFF), as the Linux kernel does.
    """
    return ones_complement_sum(header) == 0xFFFF


def incremental_update(checksum: int, old_word: int, new_word: int) -> int:
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word changing from m to m'."""
    total = ones_complement_add(~checksum & 0xFFFF, ~old_word & 0xFFFF)
    total = ones_complement_add(total, new_word)
    return ~total & 0xFFFF
