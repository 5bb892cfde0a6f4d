"""Random small networks of our instances: every router's routes equal shortest paths computed
independently from the topology itself (not from LSAs), equal-cost next hops included."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv4Network

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.ospf.config import NetworkType

from .network import Network

FAST = {"hello_interval": 1, "dead_interval": 3}


@dataclass
class Topology:
    routers: int
    #: (a, b, cost a->b, cost b->a)
    links: list[tuple[int, int, int, int]]
    #: LAN members with their costs onto the LAN (empty: no LAN)
    lan: dict[int, int] = field(default_factory=dict)
    #: links (by index) that have been cut
    cut: frozenset[int] = frozenset()
    #: LAN members with router priority 0 (never DR or BDR)
    ineligible: frozenset[int] = frozenset()

    @property
    def transit_lan(self) -> bool:
        """Whether the LAN has a DR and an adjacency: otherwise each member has it as a stub."""
        return len(self.lan) >= 2 and any(m not in self.ineligible for m in self.lan)

    def live_links(self) -> list[tuple[int, tuple[int, int, int, int]]]:
        return [(i, link) for i, link in enumerate(self.links) if i not in self.cut]


@st.composite
def topologies(draw: st.DrawFn) -> Topology:
    n = draw(st.integers(3, 6))
    cost = st.integers(1, 3)  # small costs: plenty of equal-cost paths
    links = []
    for b in range(1, n):  # a random spanning tree keeps it connected
        a = draw(st.integers(0, b - 1))
        links.append((a, b, draw(cost), draw(cost)))
    pairs = [
        (a, b) for a in range(n) for b in range(a + 1, n) if not any(link[:2] == (a, b) for link in links)
    ]
    for a, b in draw(st.lists(st.sampled_from(pairs), max_size=3, unique=True)) if pairs else []:
        links.append((a, b, draw(cost), draw(cost)))
    members = draw(st.lists(st.integers(0, n - 1), min_size=0, max_size=4, unique=True))
    lan = {m: draw(cost) for m in members} if len(members) >= 2 else {}
    ineligible = frozenset(m for m in lan if draw(st.booleans()) and draw(st.booleans()))
    return Topology(n, links, lan, ineligible=ineligible)


def rid(n: int) -> str:
    return f"10.255.0.{n + 1}"


def build(topology: Topology) -> Network:
    net = Network()
    routers = [net.router(f"r{i}", rid(i)) for i in range(topology.routers)]
    for index, (a, b, cost_ab, cost_ba) in enumerate(topology.links):
        for me, peer, host, cost in ((a, b, 1, cost_ab), (b, a, 2, cost_ba)):
            address = f"10.{index}.0.{host}/24"
            net.connect(
                f"l{index}",
                routers[me],
                f"to{peer}",
                address,
                network=NetworkType.POINT_TO_POINT,
                cost=cost,
                **FAST,
            )
    for member, cost in topology.lan.items():
        priority = 0 if member in topology.ineligible else 1
        address = f"10.200.0.{member + 1}/24"
        net.connect("lan", routers[member], "lan", address, cost=cost, priority=priority, **FAST)
    for i, router in enumerate(routers):
        net.connect(f"stub{i}", router, "stub", f"192.168.{i}.1/24", passive=True, cost=1)
    net.start()
    return net


def expected_routes(
    topology: Topology, root: int
) -> dict[IPv4Network, tuple[int, set[tuple[str | None, str]]]]:
    """Shortest paths from ``root`` over the topology; next hops as (address, interface)."""
    # Nodes: routers by number, the LAN as "lan". Edges carry how the root would leave on them.
    edges: dict[object, list[tuple[object, int, str, str | None]]] = {i: [] for i in range(topology.routers)}
    for index, (a, b, cost_ab, cost_ba) in topology.live_links():
        edges[a].append((b, cost_ab, f"to{b}", f"10.{index}.0.2"))
        edges[b].append((a, cost_ba, f"to{a}", f"10.{index}.0.1"))
    if topology.transit_lan:
        edges["lan"] = [(m, 0, "lan", f"10.200.0.{m + 1}") for m in topology.lan]
        for member, cost in topology.lan.items():
            edges[member].append(("lan", cost, "lan", None))
    distance: dict[object, int] = {root: 0}
    hops: dict[object, set[tuple[str | None, str]]] = {root: set()}
    # At equal distance the LAN goes first: its zero-cost edges can add equal-cost next hops.
    heap: list[tuple[int, int, str, object]] = [(0, 1, str(root), root)]
    done: set[object] = set()
    while heap:
        d, _, _, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        for neighbour, cost, interface, address in edges[node]:
            if node == root:
                via = {(address, interface)}  # to the LAN itself: attached (address None)
            elif node == "lan":
                # Across our own LAN (where the LAN is reached directly) it is the member's address
                # on it; LAN paths through a neighbour keep that neighbour.
                via = {(address, "lan") if hop[0] is None else hop for hop in hops[node]}
            else:
                via = hops[node]
            total = d + cost
            if neighbour not in distance or total < distance[neighbour]:
                distance[neighbour], hops[neighbour] = total, set(via)
                heapq.heappush(heap, (total, 0 if neighbour == "lan" else 1, str(neighbour), neighbour))
            elif total == distance[neighbour] and neighbour not in done:
                hops[neighbour] |= via
    routes: dict[IPv4Network, tuple[int, set[tuple[str | None, str]]]] = {}

    def offer(prefix: str, owner: object, cost: int) -> None:
        if owner not in distance:
            return  # cut off
        network = IPv4Network(prefix)
        total, via = distance[owner] + cost, hops[owner]
        if network not in routes or total < routes[network][0]:
            routes[network] = (total, set(via))
        elif total == routes[network][0]:
            routes[network][1].update(via)

    for index, (a, b, cost_ab, cost_ba) in topology.live_links():
        offer(f"10.{index}.0.0/24", a, cost_ab)
        offer(f"10.{index}.0.0/24", b, cost_ba)
    for i in range(topology.routers):
        offer(f"192.168.{i}.0/24", i, 1)
    if topology.transit_lan:
        offer("10.200.0.0/24", "lan", 0)
    else:  # no DR (or one router left): each member advertises the LAN as a stub
        for member, cost in topology.lan.items():
            offer("10.200.0.0/24", member, cost)
    # What the router is attached to itself stays with the connected routes.
    attached = {IPv4Interface(f"192.168.{root}.1/24").network}
    attached |= {IPv4Network(f"10.{i}.0.0/24") for i, link in topology.live_links() if root in link[:2]}
    if root in topology.lan:
        attached.add(IPv4Network("10.200.0.0/24"))
    return {prefix: route for prefix, route in routes.items() if prefix not in attached}


def actual_routes(net: Network, root: int) -> dict[IPv4Network, tuple[int, set[tuple[str | None, str]]]]:
    rib = net.routers[f"r{root}"].rib
    return {p: (r.cost, {(str(h.address), h.interface) for h in r.next_hops}) for p, r in rib.items()}


@settings(max_examples=15, deadline=None)
@given(topology=topologies(), data=st.data())
def test_routes_match_shortest_paths_on_random_topologies_before_and_after_a_cut(topology, data):
    net = build(topology)

    def agreed(expected: Topology) -> bool:
        return all(actual_routes(net, r) == expected_routes(expected, r) for r in range(expected.routers))

    net.run_until(lambda: agreed(topology), timeout=90, step=0.5)
    net.clock.advance(30)
    assert agreed(topology)  # nothing flaps once converged
    # Cut one link (or take one router off the LAN) and compare again.
    cuts = [f"l{i}" for i in range(len(topology.links))] + [f"lan:{m}" for m in topology.lan]
    cut = data.draw(st.sampled_from(cuts))
    if cut.startswith("lan:"):
        member = int(cut.removeprefix("lan:"))
        net.routers[f"r{member}"].instance.interface_down("lan")
        lan = {m: c for m, c in topology.lan.items() if m != member}
        after = Topology(topology.routers, topology.links, lan, ineligible=topology.ineligible)
    else:
        index = int(cut.removeprefix("l"))
        net.cut(cut)
        after = Topology(
            topology.routers, topology.links, topology.lan, frozenset({index}), topology.ineligible
        )
    net.run_until(lambda: agreed(after), timeout=60, step=0.5)
