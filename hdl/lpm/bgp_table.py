"""A real routing table for tests and benchmarks: Debian's RouteViews snapshot.

``python3-pyasn`` ships ``ipasn_20140513.dat.gz``: 512,621 IPv4 prefixes of
the global BGP table, one ``prefix<TAB>origin-AS`` per line (``;`` starts a
comment). A FIB has far fewer next hops than origins, so each origin AS is
mapped, deterministically, onto one of a few dozen synthetic next hops.
"""

from __future__ import annotations

import gzip
import random
import zlib
from functools import cache
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from sim.model.tables import NextHop, RouteAction

RIB_PATH = Path("/usr/lib/python3/dist-packages/data/ipasn_20140513.dat.gz")
#: Distinct next hops the synthetic FIB uses.
NEXT_HOPS = 48


@cache
def next_hop_for(asn: int, num_ports: int = 4) -> NextHop:
    """The synthetic next hop of an origin AS: 10.0.x.1 on one of the ports."""
    slot = zlib.crc32(str(asn).encode()) % NEXT_HOPS
    return NextHop(IPv4Address(f"10.0.{slot}.1"), 1 + slot % num_ports)


Row = tuple[int, int, int]  # network address, prefix length, origin AS


@cache
def _rows(path: Path = RIB_PATH) -> tuple[Row, ...]:
    """The snapshot as plain integers, in file order (parsed once per process)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: install Debian's python3-pyasn (scripts/setup.sh)")
    rows: dict[tuple[int, int], int] = {}
    with gzip.open(path, "rt", encoding="ascii") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.startswith(";"):
                continue
            try:
                prefix_text, asn_text = line.split()
                address_text, length_text = prefix_text.split("/")
                a, b, c, d = (int(octet) for octet in address_text.split("."))
                network, length = a << 24 | b << 16 | c << 8 | d, int(length_text)
                if not (
                    0 <= length <= 32 and max(a, b, c, d) <= 255 and network & ((1 << (32 - length)) - 1) == 0
                ):
                    raise ValueError(f"not a network prefix: {prefix_text}")
                rows[network, length] = int(asn_text)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    return tuple((network, length, asn) for (network, length), asn in rows.items())


def _route(row: Row) -> tuple[IPv4Network, RouteAction]:
    network, length, asn = row
    return IPv4Network((network, length)), next_hop_for(asn)


@cache
def load_bgp_table() -> tuple[tuple[IPv4Network, RouteAction], ...]:
    """Every prefix of the snapshot with its synthetic next hop, in file order."""
    return tuple(_route(row) for row in _rows())


def sample_bgp_table(count: int, seed: int = 0) -> list[tuple[IPv4Network, RouteAction]]:
    """``count`` prefixes drawn at random (fixed seed) from the snapshot."""
    return [_route(row) for row in random.Random(seed).sample(_rows(), count)]


def first_of_bgp_table(count: int) -> list[tuple[IPv4Network, RouteAction]]:
    """The ``count`` lowest prefixes in address order: a dense slice of the real table."""
    return [_route(row) for row in _sorted_rows()[:count]]


@cache
def _sorted_rows() -> list[Row]:
    return sorted(_rows())
