"""Internet checksum arithmetic: RFC 1071's and RFC 1624's worked examples, and the
incremental update checked against a full recomputation wherever the corpus forwards."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.utils import checksum as scapy_checksum

from sim.model import Forward
from sim.model.checksum import (
    checksum_ok,
    incremental_update,
    internet_checksum,
    ones_complement_add,
    ones_complement_sum,
)

ETH = 14


def test_rfc1071_numerical_example() -> None:
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert ones_complement_sum(data) == 0xDDF2
    assert internet_checksum(data) == 0x220D


def test_odd_length_is_padded_with_zero() -> None:
    assert ones_complement_sum(b"\x12\x34\x56") == 0x1234 + 0x5600


def test_end_around_carry() -> None:
    assert ones_complement_add(0xFFFF, 0x0001) == 0x0001
    assert ones_complement_add(0x8000, 0x8000) == 0x0001
    assert ones_complement_add(0xFFFF, 0xFFFF) == 0xFFFF


def test_rfc1624_section4_example() -> None:
    # m = 0x5555 becomes m' = 0x3285; the other header words sum to 0xCD7A.
    old_checksum = ~ones_complement_add(0xCD7A, 0x5555) & 0xFFFF
    assert old_checksum == 0xDD2F
    recomputed = ~ones_complement_add(0xCD7A, 0x3285) & 0xFFFF
    assert recomputed == 0x0000
    # Eqn. 3 gets it right where RFC 1141's eqn. 2 gave 0xFFFF.
    assert incremental_update(old_checksum, 0x5555, 0x3285) == 0x0000


def test_a_real_ipv4_header() -> None:
    # The classic example header (Wikipedia, "IPv4 header checksum"): checksum b861.
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert internet_checksum(header) == 0xB861
    assert checksum_ok(header[:10] + bytes.fromhex("b861") + header[12:])
    assert not checksum_ok(header[:10] + bytes.fromhex("b862") + header[12:])


@pytest.mark.parametrize("stored", [0x0000, 0xFFFF])
def test_both_zeros_verify_when_the_rest_sums_to_all_ones(stored: int) -> None:
    # Choose the identification field so the header without its checksum sums to 0xFFFF.
    base = bytearray.fromhex("45000014000000004011000001020304050607ff")
    rest = ones_complement_sum(bytes(base))
    base[4:6] = ((0xFFFF - rest) % 0xFFFF).to_bytes(2, "big")
    assert ones_complement_sum(bytes(base)) == 0xFFFF
    base[10:12] = stored.to_bytes(2, "big")
    assert checksum_ok(bytes(base))


@settings(max_examples=300, deadline=None)
@given(
    header=st.binary(min_size=20, max_size=60).filter(lambda b: len(b) % 4 == 0 and b[0] != 0),
    word_offset=st.integers(0, 9).map(lambda w: 2 * w if w != 5 else 0),
    new_word=st.integers(0, 0xFFFF),
)
def test_incremental_update_equals_full_recomputation(header: bytes, word_offset: int, new_word: int) -> None:
    """Eqn. 3 on a header with a correct checksum gives exactly the full recomputation,
    whichever word changes (the first byte is non-zero, as in every IPv4 header)."""
    h = bytearray(header)
    h[10:12] = b"\0\0"
    h[10:12] = internet_checksum(bytes(h)).to_bytes(2, "big")
    old_word = int.from_bytes(h[word_offset : word_offset + 2], "big")
    updated = incremental_update(int.from_bytes(h[10:12], "big"), old_word, new_word)
    h[word_offset : word_offset + 2] = new_word.to_bytes(2, "big")
    if h[0] == 0 and h[1] == 0 and not any(h[2:10] + h[12:]):
        return  # an all-zero header has no full checksum to compare with
    h[10:12] = b"\0\0"
    assert updated == internet_checksum(bytes(h))


def test_every_forwarded_corpus_frame_carries_the_full_recomputation(corpus) -> None:
    forwarded = [v for v in corpus if isinstance(v.expected, Forward) and "packet-out" not in v.tags]
    assert len(forwarded) > 50
    for vector in forwarded:
        out = vector.expected.frame
        header = out[ETH : ETH + 4 * (out[ETH] & 0xF)]
        zeroed = header[:10] + b"\0\0" + header[12:]
        assert int.from_bytes(header[10:12], "big") == scapy_checksum(zeroed), vector.name
        assert checksum_ok(header), vector.name


def test_corpus_reaches_the_checksum_edges(corpus) -> None:
    """Incoming 0xFEFF..0xFFFF wrap when the TTL decrement adds 0x0100; both zeros come in."""
    incoming = {
        int.from_bytes(v.frame[ETH + 10 : ETH + 12], "big") for v in corpus if "checksum-edge" in v.tags
    }
    assert {0x0000, 0xFFFF, 0xFEFF, 0xFF00, 0xFFFE} <= incoming
    outgoing = {
        int.from_bytes(v.expected.frame[ETH + 10 : ETH + 12], "big")
        for v in corpus
        if "checksum-edge" in v.tags
    }
    assert 0x0000 in outgoing  # 0xFEFF + 0x0100 wraps to zero, written as 0x0000
