"""OSPF: SPF (RFC 2328 §16.1) time on a 1,000-router synthetic area, and a full instance's run.

Topology (seeded, so every run measures the same graph): N routers, each
with a stub LAN; a ring for connectivity plus random point-to-point chords
(average degree about 4, costs 1..20, so equal-cost paths occur); and
every tenth router also on a broadcast LAN with three others (a
network-LSA). Printed: LSDB size, routes, the median and worst of several
``spf.calculate`` runs, and one run through ``OspfInstance`` (the LSDB's
aged view plus the diff against the previous table).
"""

from __future__ import annotations

import random
import statistics
import time
from ipaddress import IPv4Address

from controller.clock import FakeClock
from controller.ospf import OspfConfig, OspfInstance
from controller.ospf.constants import LsaType, RouterLinkType
from controller.ospf.lsa import Lsa, NetworkLsaBody, RouterLink, RouterLsaBody
from controller.ospf.spf import calculate

ROUTERS = 1000
RUNS = 7


def router_id(n: int) -> IPv4Address:
    return IPv4Address(0x0A000000 + n + 1)  # 10.0.x.y


def synthetic_area(size: int, seed: int = 2328) -> tuple[list[Lsa], int]:
    """Router- and network-LSAs for ``size`` routers; returns them and the number of distinct prefixes."""
    rng = random.Random(seed)
    links: dict[int, list[RouterLink]] = {n: [] for n in range(size)}
    prefixes = 0
    subnet = iter(range(1, 1 << 20))

    def p2p(a: int, b: int, cost: int) -> None:
        nonlocal prefixes
        net = 0xAC000000 + next(subnet) * 4  # 172.x.y.z/30
        prefixes += 1
        for me, other, host in ((a, b, 1), (b, a, 2)):
            links[me].append(
                RouterLink(router_id(other), IPv4Address(net + host), RouterLinkType.POINT_TO_POINT, cost)
            )
            links[me].append(
                RouterLink(IPv4Address(net), IPv4Address("255.255.255.252"), RouterLinkType.STUB, cost)
            )

    for n in range(size):
        p2p(n, (n + 1) % size, rng.randint(1, 20))
    seen = {frozenset((n, (n + 1) % size)) for n in range(size)}
    while len(seen) < 2 * size:
        a, b = rng.sample(range(size), 2)
        if frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            p2p(a, b, rng.randint(1, 20))
    network_lsas = []
    for first in range(0, size - 3, 10):
        members = [first, first + 1, first + 2, first + 3]
        base = 0xC0A80000 + next(subnet) * 256  # a /24 for the LAN
        prefixes += 1
        dr_address = IPv4Address(base + 1)
        for index, member in enumerate(members):
            links[member].append(
                RouterLink(dr_address, IPv4Address(base + 1 + index), RouterLinkType.TRANSIT, 10)
            )
        body = NetworkLsaBody(IPv4Address("255.255.255.0"), tuple(router_id(m) for m in members))
        network_lsas.append(Lsa.build(LsaType.NETWORK, dr_address, router_id(first), 1, 0x02, body))
    for n in range(size):
        links[n].append(
            RouterLink(
                IPv4Address(0x0B000000 + n * 256), IPv4Address("255.255.255.0"), RouterLinkType.STUB, 1
            )
        )
        prefixes += 1
    router_lsas = [
        Lsa.build(LsaType.ROUTER, router_id(n), router_id(n), 1, 0x02, RouterLsaBody(0, tuple(links[n])))
        for n in range(size)
    ]
    return router_lsas + network_lsas, prefixes


def main() -> None:
    lsas, prefixes = synthetic_area(ROUTERS)
    root = router_id(0)
    root_lsa = lsas[0]
    interfaces = {
        link.link_data: f"if{i}"
        for i, link in enumerate(root_lsa.body.links)
        if link.type in (RouterLinkType.POINT_TO_POINT, RouterLinkType.TRANSIT)
    }
    interfaces[IPv4Address(0x0B000001)] = "lan"  # the root's own stub LAN
    neighbor_address = _neighbor_addresses(lsas)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = calculate(root, lsas, interfaces, neighbor_address)
        times.append(time.perf_counter() - start)
    ecmp = sum(1 for route in result.routes.values() if len(route.next_hops) > 1)
    print(f"synthetic area: {ROUTERS} routers, {len(lsas)} LSAs, {prefixes} prefixes")
    print(
        f"routes computed: {len(result.routes)} ({ecmp} with equal-cost next hops), routers reached: {len(result.routers)}"
    )
    assert len(result.routers) == ROUTERS and len(result.routes) == prefixes
    print(
        f"spf.calculate: median {statistics.median(times) * 1000:.1f} ms, "
        f"worst {max(times) * 1000:.1f} ms over {RUNS} runs"
    )
    _instance_run(lsas)


def _neighbor_addresses(lsas: list[Lsa]):
    """The root's neighbours' addresses, as its neighbour structures would hold them."""
    addresses = {}
    for lsa in lsas:
        if lsa.header.type != LsaType.ROUTER:
            continue
        for link in lsa.body.links:
            if link.type == RouterLinkType.POINT_TO_POINT and link.link_id == router_id(0):
                addresses[lsa.header.adv_router] = link.link_data
    return lambda interface, rid: addresses.get(rid)


def _instance_run(lsas: list[Lsa]) -> None:
    """The same database inside an instance: SPF over the LSDB's aged view, diffed into the route table."""

    class Discard:
        def send(self, *args: object) -> None: ...

    clock = FakeClock()
    instance = OspfInstance(router_id(0), OspfConfig(), [], clock, Discard())
    for lsa in lsas:
        instance.lsdb.install(lsa)
    instance.run_spf()  # timed by the instance itself (no interfaces: the root has no next hops)
    print(f"OspfInstance SPF over its LSDB: {instance.last_spf_seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main()
