"""ReferenceLpm, the LPM oracle, against hand-picked tables and a brute-force scan."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.lpm import ReferenceLpm


def table(*entries: tuple[str, str]) -> ReferenceLpm[str]:
    lpm: ReferenceLpm[str] = ReferenceLpm()
    for prefix, value in entries:
        lpm.insert(IPv4Network(prefix), value)
    return lpm


def test_empty_table_misses() -> None:
    assert table().lookup(IPv4Address("10.0.0.1")) is None


def test_default_route_matches_everything() -> None:
    lpm = table(("0.0.0.0/0", "default"))
    for address in ("0.0.0.0", "10.0.0.1", "255.255.255.255"):
        assert lpm.lookup(IPv4Address(address)) == (IPv4Network("0.0.0.0/0"), "default")


@pytest.mark.parametrize(
    ("address", "winner"),
    [
        ("10.1.2.3", "10.1.2.3/32"),
        ("10.1.2.4", "10.1.2.0/24"),
        ("10.1.3.1", "10.1.0.0/16"),
        ("10.2.0.0", "10.0.0.0/8"),
        ("11.0.0.0", "0.0.0.0/0"),
        ("10.1.2.255", "10.1.2.128/25"),
    ],
)
def test_longest_prefix_wins(address: str, winner: str) -> None:
    prefixes = ["0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25", "10.1.2.3/32"]
    lpm = table(*((p, p) for p in prefixes))
    assert lpm.lookup(IPv4Address(address)) == (IPv4Network(winner), winner)


def test_insert_replaces_and_delete_falls_back() -> None:
    lpm = table(("10.0.0.0/8", "a"), ("10.1.0.0/16", "b"))
    lpm.insert(IPv4Network("10.1.0.0/16"), "c")
    assert len(lpm) == 2
    assert lpm.lookup(IPv4Address("10.1.0.1")) == (IPv4Network("10.1.0.0/16"), "c")
    lpm.delete(IPv4Network("10.1.0.0/16"))
    assert lpm.lookup(IPv4Address("10.1.0.1")) == (IPv4Network("10.0.0.0/8"), "a")
    with pytest.raises(KeyError):
        lpm.delete(IPv4Network("10.1.0.0/16"))


def test_same_address_different_lengths_are_different_entries() -> None:
    lpm = table(("10.0.0.0/8", "8"), ("10.0.0.0/9", "9"), ("10.0.0.0/32", "32"))
    assert len(lpm) == 3
    assert lpm.lookup(0x0A000000) == (IPv4Network("10.0.0.0/32"), "32")
    assert lpm.lookup(0x0A000001) == (IPv4Network("10.0.0.0/9"), "9")
    assert lpm.lookup(0x0A800000) == (IPv4Network("10.0.0.0/8"), "8")
    assert sorted(p.prefixlen for p, _ in lpm) == [8, 9, 32]


prefixes = st.builds(
    lambda address, length: IPv4Network((address, length), strict=False),
    st.sampled_from([0x0A000000, 0x0A010000, 0x0A010200, 0xC0A80000, 0xFFFFFFFF, 0]),
    st.integers(0, 32),
)


@settings(max_examples=300, deadline=None)
@given(
    routes=st.dictionaries(prefixes, st.integers(), max_size=20),
    probes=st.lists(st.integers(0, (1 << 32) - 1) | st.sampled_from([0x0A000001, 0x0A010203]), max_size=20),
)
def test_agrees_with_a_brute_force_scan(routes: dict[IPv4Network, int], probes: list[int]) -> None:
    lpm: ReferenceLpm[int] = ReferenceLpm()
    for prefix, value in routes.items():
        lpm.insert(prefix, value)
    assert dict(lpm) == routes
    for probe in probes + [int(p.network_address) for p in routes]:
        address = IPv4Address(probe)
        matching = [p for p in routes if address in p]
        best = max(matching, key=lambda p: p.prefixlen, default=None)
        assert lpm.lookup(address) == (None if best is None else (best, routes[best]))
