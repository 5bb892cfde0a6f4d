"""The routing table calculation (RFC 2328 §16.1): Dijkstra over router and network vertices, then stubs.

A pure function of the database, so it is tested on hand-made topologies
and benchmarked on synthetic ones. Equal-cost paths are all kept (§16.1:
"If D equals the cost, add the next hops").
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from controller.ospf.constants import MAX_AGE, LsaType, RouterLinkType
from controller.ospf.lsa import Lsa, NetworkLsaBody, RouterLsaBody
from controller.ospf.routes import OspfNextHop, OspfRoute, sort_next_hops

# A vertex is (LS type, Link State ID): a router by its router id, a network by its DR's address.
Vertex = tuple[int, IPv4Address]
NextHops = frozenset[OspfNextHop]

#: (interface name, neighbour router id) -> the neighbour's address on that interface
NeighborAddress = Callable[[str, IPv4Address], IPv4Address | None]


@dataclass(frozen=True, slots=True)
class SpfResult:
    routes: dict[IPv4Network, OspfRoute]
    #: each reachable router's distance and next hops (the root's are empty)
    routers: dict[IPv4Address, tuple[int, NextHops]]


class _Graph:
    def __init__(self, lsas: Iterable[Lsa]) -> None:
        self.routers: dict[IPv4Address, RouterLsaBody] = {}
        self.networks: dict[IPv4Address, NetworkLsaBody] = {}
        network_owner: dict[IPv4Address, IPv4Address] = {}
        for lsa in lsas:
            header = lsa.header
            if header.age >= MAX_AGE:
                continue
            if header.type == LsaType.ROUTER and isinstance(lsa.body, RouterLsaBody):
                if header.ls_id == header.adv_router:
                    self.routers[header.adv_router] = lsa.body
            elif header.type == LsaType.NETWORK and isinstance(lsa.body, NetworkLsaBody):
                # Two DRs' network-LSAs can coexist briefly; the higher advertising router wins.
                owner = network_owner.get(header.ls_id)
                if owner is None or header.adv_router > owner:
                    network_owner[header.ls_id] = header.adv_router
                    self.networks[header.ls_id] = lsa.body

    def links_back(self, w: Vertex, v: Vertex) -> bool:
        """§16.1 step 2(b): W's LSA must link back to V."""
        if w[0] == LsaType.NETWORK:
            return v[0] == LsaType.ROUTER and v[1] in self.networks[w[1]].attached
        wanted = RouterLinkType.POINT_TO_POINT if v[0] == LsaType.ROUTER else RouterLinkType.TRANSIT
        return any(link.type == wanted and link.link_id == v[1] for link in self.routers[w[1]].links)


def calculate(
    root: IPv4Address,
    lsas: Iterable[Lsa],
    interfaces: Mapping[IPv4Address, str],
    neighbor_address: NeighborAddress,
) -> SpfResult:
    """Routes from ``root``'s point of view.

    ``interfaces`` maps each of our interface addresses (the Link Data of our
    own router-LSA's links) to its interface name.
    """
    graph = _Graph(lsas)
    root_vertex: Vertex = (LsaType.ROUTER, root)
    done: dict[Vertex, tuple[int, NextHops]] = {}
    if root not in graph.routers:
        return SpfResult({}, {})
    best: dict[Vertex, tuple[int, set[OspfNextHop]]] = {root_vertex: (0, set())}
    heap: list[tuple[int, int, int, Vertex]] = [(0, 0, int(root), root_vertex)]
    while heap:
        cost, _, _, v = heapq.heappop(heap)
        if v in done or best[v][0] != cost:
            continue
        done[v] = (cost, frozenset(best[v][1]))
        for w, link_cost, link_data in _edges(graph, v):
            if w in done or not graph.links_back(w, v):
                continue
            distance = cost + link_cost
            current = best.get(w)
            if current is not None and current[0] < distance:
                continue
            hops = _next_hops(graph, v, w, link_data, done, root_vertex, interfaces, neighbor_address)
            if current is None or distance < current[0]:
                best[w] = (distance, set(hops))
                # Networks before routers at equal cost (§16.1 step 3), then by id, for determinism.
                heapq.heappush(heap, (distance, 0 if w[0] == LsaType.NETWORK else 1, int(w[1]), w))
            else:
                current[1].update(hops)
    routes = _routes(graph, done, root_vertex, interfaces)
    routers = {v[1]: entry for v, entry in done.items() if v[0] == LsaType.ROUTER}
    return SpfResult(routes, routers)


def _edges(graph: _Graph, v: Vertex) -> Iterable[tuple[Vertex, int, IPv4Address | None]]:
    if v[0] == LsaType.NETWORK:
        for router in graph.networks[v[1]].attached:
            if router in graph.routers:
                yield (LsaType.ROUTER, router), 0, None
        return
    for link in graph.routers[v[1]].links:
        if link.type == RouterLinkType.POINT_TO_POINT and link.link_id in graph.routers:
            yield (LsaType.ROUTER, link.link_id), link.metric, link.link_data
        elif link.type == RouterLinkType.TRANSIT and link.link_id in graph.networks:
            yield (LsaType.NETWORK, link.link_id), link.metric, link.link_data


def _next_hops(
    graph: _Graph,
    v: Vertex,
    w: Vertex,
    link_data: IPv4Address | None,
    done: Mapping[Vertex, tuple[int, NextHops]],
    root: Vertex,
    interfaces: Mapping[IPv4Address, str],
    neighbor_address: NeighborAddress,
) -> NextHops:
    """§16.1.1."""
    if v == root:
        interface = interfaces.get(link_data) if link_data is not None else None
        if interface is None:
            return frozenset()
        if w[0] == LsaType.NETWORK:
            return frozenset({OspfNextHop(interface, None)})
        return frozenset({OspfNextHop(interface, neighbor_address(interface, w[1]))})
    parent_hops = done[v][1]
    if v[0] == LsaType.NETWORK and any(hop.address is None for hop in parent_hops):
        # W is on a network the root is attached to: across it, the next hop is W's own address
        # there. The network may also be reached at equal cost through a neighbour: those paths
        # to W keep that neighbour as their next hop.
        addresses = [
            link.link_data
            for link in graph.routers[w[1]].links
            if link.type == RouterLinkType.TRANSIT and link.link_id == v[1]
        ]
        across = {
            OspfNextHop(hop.interface, a) for hop in parent_hops if hop.address is None for a in addresses
        }
        return frozenset(across | {hop for hop in parent_hops if hop.address is not None})
    return parent_hops


def _routes(
    graph: _Graph,
    done: Mapping[Vertex, tuple[int, NextHops]],
    root: Vertex,
    interfaces: Mapping[IPv4Address, str],
) -> dict[IPv4Network, OspfRoute]:
    table: dict[IPv4Network, tuple[int, set[OspfNextHop]]] = {}

    def offer(prefix: IPv4Network, cost: int, hops: Iterable[OspfNextHop]) -> None:
        current = table.get(prefix)
        if current is None or cost < current[0]:
            table[prefix] = (cost, set(hops))
        elif cost == current[0]:
            current[1].update(hops)

    local_networks = {IPv4Network((address, 32)): name for address, name in interfaces.items()}
    for (vertex_type, vertex_id), (cost, hops) in done.items():
        if vertex_type == LsaType.NETWORK:
            body = graph.networks[vertex_id]
            offer(_prefix(vertex_id, body.mask), cost, hops)
    for (vertex_type, vertex_id), (cost, hops) in done.items():
        if vertex_type != LsaType.ROUTER:
            continue
        for link in graph.routers[vertex_id].links:
            if link.type != RouterLinkType.STUB:
                continue
            prefix = _prefix(link.link_id, link.link_data)
            own = (vertex_type, vertex_id) == root
            stub_hops = _own_stub_hops(prefix, local_networks) if own else hops
            if stub_hops:
                offer(prefix, cost + link.metric, stub_hops)
    return {
        prefix: OspfRoute(prefix, cost, sort_next_hops(hops))
        for prefix, (cost, hops) in table.items()
        if hops
    }


def _prefix(address: IPv4Address, mask: IPv4Address) -> IPv4Network:
    """The network of ``address`` under ``mask`` (built from integers: string parsing dominated SPF)."""
    bits = int(mask)
    length = 32 - (~bits & 0xFFFFFFFF).bit_length()
    return IPv4Network((int(address) & (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF, length))


def _own_stub_hops(prefix: IPv4Network, local: Mapping[IPv4Network, str]) -> set[OspfNextHop]:
    return {OspfNextHop(name, None) for host, name in local.items() if host.subnet_of(prefix)}
