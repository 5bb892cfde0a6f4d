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


def next_hop_for(asn: int, num_ports: int = 4) -> NextHop:
    """The synthetic next hop of an origin AS: 10.0.x.1 on one of the ports."""
    slot = zlib.crc32(str(asn).encode()) % NEXT_HOPS
    return NextHop(IPv4Address(f"10.0.{slot}.1"), 1 + slot % num_ports)


@cache
def load_bgp_table(path: Path = RIB_PATH) -> tuple[tuple[IPv4Network, RouteAction], ...]:
    """Every prefix of the snapshot with its synthetic next hop, in file order."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: install Debian's python3-pyasn (scripts/setup.sh)")
    routes: dict[IPv4Network, RouteAction] = {}
    with gzip.open(path, "rt", encoding="ascii") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.startswith(";"):
                continue
            try:
                prefix_text, asn_text = line.split()
                routes[IPv4Network(prefix_text)] = next_hop_for(int(asn_text))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    return tuple(routes.items())


def sample_bgp_table(count: int, seed: int = 0) -> list[tuple[IPv4Network, RouteAction]]:
    """``count`` prefixes drawn at random (fixed seed) from the snapshot."""
    table = load_bgp_table()
    return random.Random(seed).sample(table, count)


def first_of_bgp_table(count: int) -> list[tuple[IPv4Network, RouteAction]]:
    """The ``count`` lowest prefixes in address order: a dense slice of the real table."""
    table = sorted(load_bgp_table(), key=lambda r: (int(r[0].network_address), r[0].prefixlen))
    return table[:count]
