"""RFC 2328 §13.1: which of two instances of an LSA is the more recent."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from controller.ospf.constants import MAX_AGE, MAX_AGE_DIFF
from controller.ospf.lsa import LsaHeader, compare

BASE = LsaHeader(100, 0x02, 1, IPv4Address("1.1.1.1"), IPv4Address("1.1.1.1"), 5, 0x1000, 36)


def test_higher_sequence_number_is_newer_signed():
    assert compare(replace(BASE, seq=6), BASE) > 0
    assert compare(BASE, replace(BASE, seq=6)) < 0
    # Sequence numbers are signed: 0x80000001 (the first) is older than 0x00000001.
    assert compare(replace(BASE, seq=1), replace(BASE, seq=-0x7FFFFFFF)) > 0


def test_sequence_number_beats_everything_else():
    older = replace(BASE, seq=4, checksum=0xFFFF, age=0)
    assert compare(BASE, older) > 0
    assert compare(replace(BASE, age=MAX_AGE), replace(BASE, seq=6)) < 0


def test_same_sequence_higher_checksum_is_newer():
    assert compare(replace(BASE, checksum=0x1001), BASE) > 0
    assert compare(BASE, replace(BASE, checksum=0x1001)) < 0


def test_max_age_instance_is_newer():
    assert compare(replace(BASE, age=MAX_AGE), BASE) > 0
    assert compare(BASE, replace(BASE, age=MAX_AGE)) < 0
    assert compare(replace(BASE, age=MAX_AGE), replace(BASE, age=MAX_AGE)) == 0


def test_age_difference_beyond_max_age_diff_means_younger_is_newer():
    young, old = replace(BASE, age=10), replace(BASE, age=10 + MAX_AGE_DIFF + 1)
    assert compare(young, old) > 0
    assert compare(old, young) < 0


def test_age_difference_within_max_age_diff_is_the_same_instance():
    assert compare(replace(BASE, age=10), replace(BASE, age=10 + MAX_AGE_DIFF)) == 0
    assert compare(BASE, BASE) == 0
