"""OSPF: SPF (RFC 2328 §16.1) on a 1,000-router synthetic area, database exchange, simulated reroutes.

Topology (seeded, so every run measures the same graph): N routers, each
with a stub LAN; a ring for connectivity plus random point-to-point chords
(average degree about 4, costs 1..20, so equal-cost paths occur); and
every tenth router also on a broadcast LAN with three others (a
network-LSA). Printed: LSDB size, routes, the median and worst of several
``spf.calculate`` runs, and one run through ``OspfInstance`` (the LSDB's
aged view plus the diff against the previous table).

Reroute: ten of our instances in a ring of point-to-point links on the fake
clock (tests/controller/ospf/network.py, 1 ms per hop); one link is cut
and we measure, in protocol time, how long until the router beside the cut
routes the far neighbour's LAN the long way round: with carrier loss (the
interface goes down), and silently (the dead interval finds it) with the
default timers and with a 1-second dead interval (4 hellos a second).
Protocol time only: packet handling itself is measured by the wall time
the whole simulated reconvergence took.
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
    _database_sync(lsas)
    _reroute_times()


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


def _database_sync(lsas: list[Lsa]) -> None:
    """Two instances: one holds the 1,100-LSA area, the other joins; wall time until it has it all."""
    from controller.ospf.config import NetworkType
    from tests.controller.ospf.network import Network

    net = Network()
    old, new = net.router("old", "10.255.255.1"), net.router("new", "10.255.255.2")
    for router, host in ((old, 1), (new, 2)):
        address = f"10.254.0.{host}/24"
        net.connect(
            "link",
            router,
            "eth",
            address,
            network=NetworkType.POINT_TO_POINT,
            hello_interval=1,
            dead_interval=4,
        )
    old.start()
    for lsa in lsas:  # as if learnt from the rest of the area
        old.instance.lsdb.install(lsa)
    wall = time.perf_counter()
    new.start()
    took = net.run_until(lambda: len(new.instance.lsdb) >= len(lsas) + 2 and net.all_full(), 120, step=0.01)
    wall = time.perf_counter() - wall
    packets = sum(old.instance.sent.values()) + sum(new.instance.sent.values())
    print(
        f"database exchange of {len(lsas)} LSAs to a new neighbour: {wall * 1000:.0f} ms wall, "
        f"{took:.2f} s protocol time (hello 1 s), {packets} packets"
    )


def _reroute_times() -> None:
    cases = [
        ("carrier loss, hello 10 s / dead 40 s", {}, True),
        ("silent, hello 10 s / dead 40 s (defaults)", {}, False),
        ("silent, dead 1 s, 4 hellos/s", {"dead_interval": 1, "hello_multiplier": 4}, False),
    ]
    for label, settings, carrier_loss in cases:
        took, wall = _reroute(10, settings, carrier_loss)
        print(f"reroute in a 10-router ring, {label}: {took:.2f} s protocol time ({wall * 1000:.0f} ms wall)")


def _reroute(size: int, settings: dict[str, int], carrier_loss: bool) -> tuple[float, float]:
    from controller.ospf.config import NetworkType
    from tests.controller.ospf.network import Network

    net = Network()
    routers = [net.router(f"r{i}", f"10.255.0.{i + 1}") for i in range(size)]
    for i in range(size):
        j = (i + 1) % size
        for me, peer, host in ((i, j, 1), (j, i, 2)):
            address = f"10.{i}.{j}.{host}/24"
            net.connect(
                f"l{i}", routers[me], f"to{peer}", address, network=NetworkType.POINT_TO_POINT, **settings
            )
        net.connect(f"lan{i}", routers[i], "lan", f"192.168.{i}.1/24", passive=True)
    net.start()
    net.run_until(lambda: net.all_full() and all(len(r.rib) == 2 * size - 3 for r in routers), timeout=600)
    net.clock.advance(60)  # quiet: no origination is held back by MinLSInterval
    wall = time.perf_counter()
    net.cut("l0", carrier_loss=carrier_loss)
    detour = {(f"10.{size - 1}.0.1", f"to{size - 1}")}
    took = net.run_until(lambda: routers[0].next_hops("192.168.1.0/24") == detour, timeout=120, step=0.005)
    return took, time.perf_counter() - wall


if __name__ == "__main__":
    main()
