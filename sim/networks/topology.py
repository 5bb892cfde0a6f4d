"""Networks of routers and hosts in a small declarative form.

A :class:`Topology` names its routers, hosts and links; everything else
(interface names, P4Runtime ports, MACs, subnets, addresses) follows from it
deterministically, so the Mininet network, every router's TOML and the
README's picture are generated from the same description::

    Topology(
        name="line",
        routers=(Router("r1"), Router("r2"), Router("r3")),
        hosts=(Host("h1", "r1"), Host("h2", "r3")),
        links=(Link("r1", "r2"), Link("r2", "r3", cost=20, network=LinkType.BROADCAST)),
    )

Addressing: router link *k* (from 1, in order) is ``10.0.k.0/24`` with the
first-named router at ``.1`` and the second at ``.2``, an OSPF point-to-point
link unless it says ``network=LinkType.BROADCAST`` (then the two elect a
designated router); LAN *j* (``Lan``: one bridge joining several routers,
OSPF broadcast) is ``10.1.j.0/24`` with its *i*-th router at ``.i``; host *n*
sits on ``172.16.n.0/24`` at ``.10`` behind its router's ``.1``. Router *i* has router
id ``10.255.255.i`` and MACs ``02:00:00:00:ii:pp`` (port ``pp``).

This module uses only the standard library: the Mininet runner
(``/usr/bin/python3``, no venv) reads what it produces.
"""

from __future__ import annotations

import heapq
import itertools
import re
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

#: OSPF cost of a host's LAN (a stub network)
HOST_LAN_COST = 10


class LinkType(StrEnum):
    """The OSPF network type of a router link (the controller's and FRR's ``network`` setting)."""

    POINT_TO_POINT = "point-to-point"
    BROADCAST = "broadcast"  # DR and BDR elected, a network-LSA from the DR


class RouterKind(StrEnum):
    TWINROUTER = "twinrouter"  # a twinrouter: data plane process + controller
    FRR = "frr"  # FRR's zebra + ospfd on the Linux kernel's forwarding


@dataclass(frozen=True)
class Router:
    name: str
    kind: RouterKind = RouterKind.TWINROUTER


@dataclass(frozen=True)
class Host:
    name: str
    router: str  # the router whose LAN the host sits on


@dataclass(frozen=True)
class Link:
    a: str
    b: str
    cost: int = 10  # OSPF cost, both directions
    network: LinkType = LinkType.POINT_TO_POINT


@dataclass(frozen=True)
class Lan:
    """A broadcast segment: one Linux bridge joining ``routers`` (a DR and a BDR elected)."""

    name: str  # also the bridge's node name
    routers: tuple[str, ...]
    cost: int = 10  # OSPF cost of every router's interface on it


@dataclass(frozen=True)
class Port:
    """One router interface, fully resolved."""

    router: str
    port: int  # P4Runtime port number, 1..
    address: IPv4Interface
    mac: str
    peer: str  # the node at the other end (router, LAN or host)
    cost: int  # OSPF cost
    host_lan: bool  # a host's LAN: advertised, passive (no OSPF neighbours)
    network: LinkType = LinkType.BROADCAST  # a router link's type (a host's LAN is an Ethernet)

    @property
    def name(self) -> str:
        """The interface name in the router's config (``eth<port>``)."""
        return f"eth{self.port}"

    @property
    def ifname(self) -> str:
        """The Linux interface name in the network (``r1-eth1``)."""
        return f"{self.router}-eth{self.port}"


@dataclass(frozen=True)
class HostPort:
    host: str
    address: IPv4Interface
    gateway: IPv4Address
    mac: str

    @property
    def ifname(self) -> str:
        return f"{self.host}-eth0"


class TopologyError(ValueError):
    pass


@dataclass(frozen=True)
class Segment:
    """What joins routers' ports in the network: a link's cable (``w<k>``) or a LAN, each a bridge."""

    name: str
    ports: tuple[Port, ...]

    def bridge_ifname(self, end: int) -> str:
        """The bridge's own interface facing ``ports[end]``."""
        return f"{self.name}-eth{end + 1}"


@dataclass(frozen=True)
class Topology:
    name: str
    routers: tuple[Router, ...]
    hosts: tuple[Host, ...]
    links: tuple[Link, ...]
    description: str = ""
    #: the router link the demo cuts to show a reroute (its two router names)
    cut: tuple[str, str] | None = None
    lans: tuple[Lan, ...] = ()
    _ports: dict[str, list[Port]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()
        self._ports.update(self._resolve_ports())

    # --- derived facts -------------------------------------------------------------

    def router(self, name: str) -> Router:
        return next(r for r in self.routers if r.name == name)

    def router_index(self, name: str) -> int:
        return [r.name for r in self.routers].index(name) + 1

    def router_id(self, name: str) -> IPv4Address:
        return IPv4Address(f"10.255.255.{self.router_index(name)}")

    def ports(self, router: str) -> list[Port]:
        return list(self._ports[router])

    def port_towards(self, router: str, peer: str) -> Port:
        return next(p for p in self._ports[router] if p.peer == peer)

    def host_port(self, host: str) -> HostPort:
        index = [h.name for h in self.hosts].index(host) + 1
        spec = next(h for h in self.hosts if h.name == host)
        lan = self.port_towards(spec.router, host)
        return HostPort(
            host,
            IPv4Interface(f"{lan.address.network.network_address + 10}/{lan.address.network.prefixlen}"),
            lan.address.ip,
            f"02:00:00:01:{index:02x}:00",
        )

    def address_owners(self) -> dict[IPv4Address, str]:
        """Every address in the network -> who has it (``r2 eth1``, ``h1``)."""
        owners = {p.address.ip: f"{p.router} {p.name}" for ports in self._ports.values() for p in ports}
        return owners | {self.host_port(h.name).address.ip: h.name for h in self.hosts}

    def segments(self) -> list[Segment]:
        """Every bridge of the network: the links' cables (``w1``, ``w2``, ... in link order),
        then the LANs (named as they are)."""
        found = [
            Segment(f"w{k}", (self.port_towards(link.a, link.b), self.port_towards(link.b, link.a)))
            for k, link in enumerate(self.links, start=1)
        ]
        return found + [
            Segment(lan.name, tuple(self.port_towards(r, lan.name) for r in lan.routers)) for lan in self.lans
        ]

    def expected_full_neighbours(self, router: str, without: tuple[str, str] | None = None) -> int:
        """How many neighbours ``router`` is Full with once converged (``without``: a cut link).

        On a LAN a router is Full with the DR and the BDR, or with everyone if it is one of them:
        at least two, all the others on a LAN of three.
        """
        links = sum(1 for link in self._links_without(without) if router in (link.a, link.b))
        return links + sum(min(len(lan.routers) - 1, 2) for lan in self.lans if router in lan.routers)

    def subnets(self) -> list[IPv4Network]:
        """Every subnet in the network, each once."""
        return sorted({p.address.network for ports in self._ports.values() for p in ports})

    def twinrouters(self) -> list[Router]:
        return [r for r in self.routers if r.kind is RouterKind.TWINROUTER]

    def router_path(self, source: str, destination: str) -> list[str]:
        """The routers a packet from host ``source`` to host ``destination`` crosses (least cost).

        Raises TopologyError when the least-cost path is not unique (the data
        plane holds one next hop, so a test could not say which path is right).
        """
        first = next(h.router for h in self.hosts if h.name == source)
        last = next(h.router for h in self.hosts if h.name == destination)
        paths = self._least_cost_paths(first, last, self.links)
        if len(paths) != 1:
            raise TopologyError(f"{self.name}: {len(paths)} least-cost paths from {first} to {last}")
        return [node for node in paths[0] if node not in self._lan_names()]

    def hop_addresses(
        self, source: str, destination: str, without: tuple[str, str] | None = None
    ) -> list[IPv4Address]:
        """What ``traceroute -n`` from ``source`` to ``destination`` shows: each router's ingress
        address in order, then the destination host (``without``: a cut router link)."""
        links = self._links_without(without)
        first = next(h.router for h in self.hosts if h.name == source)
        last = next(h.router for h in self.hosts if h.name == destination)
        paths = self._least_cost_paths(first, last, links)
        if len(paths) != 1:
            raise TopologyError(f"{self.name}: {len(paths)} least-cost paths from {first} to {last}")
        path = paths[0]
        hops = [self.port_towards(path[0], source).address.ip]
        hops += [
            self.port_towards(router, previous).address.ip
            for previous, router in itertools.pairwise(path)
            if router not in self._lan_names()
        ]
        return [*hops, self.host_port(destination).address.ip]

    def next_hops(
        self, router: str, without: tuple[str, str] | None = None
    ) -> dict[IPv4Network, IPv4Address]:
        """Where OSPF at ``router`` sends each subnet it is not attached to: the next hop's address.

        Least cost over the router links (``without`` a cut one) plus the
        cost the subnet's router advertises it with; among equal-cost paths
        the lowest next-hop address, as the controller installs (docs/ospf.md).
        The subnet of a cut link is left out (whether it stays reachable
        depends on each end noticing the carrier).
        """
        links = self._links_without(without)
        distance, first_hops = self._distances(router, links)
        attached = {p.address.network for p in self._ports[router]}
        cut_subnets = {self.port_towards(*without).address.network} if without else set()
        routes: dict[IPv4Network, IPv4Address] = {}
        for subnet in self.subnets():
            if subnet in attached or subnet in cut_subnets:
                continue
            offers = [
                (distance[p.router] + p.cost, p.router)
                for ports in self._ports.values()
                for p in ports
                if p.address.network == subnet and p.router in distance
            ]
            if not offers:
                continue
            best = min(cost for cost, _ in offers)
            hops = {hop for cost, owner in offers if cost == best for hop in first_hops[owner]}
            routes[subnet] = min(hop.address.ip for hop in hops)
        return routes

    # --- internals ---------------------------------------------------------------------

    def _links_without(self, without: tuple[str, str] | None) -> tuple[Link, ...]:
        return tuple(link for link in self.links if without is None or {link.a, link.b} != set(without))

    def _lan_names(self) -> set[str]:
        return {lan.name for lan in self.lans}

    def _shortest(self, source: str, links: tuple[Link, ...]) -> tuple[dict[str, int], dict[str, list[str]]]:
        """Dijkstra from ``source``: least cost to every router and LAN it reaches, and every
        predecessor on a least-cost path. A LAN is a vertex as in OSPF's SPF: a router reaches
        it at its interface's cost, and it reaches each of its routers at no cost."""
        neighbours: dict[str, list[tuple[str, int]]] = {r.name: [] for r in self.routers}
        for link in links:
            neighbours[link.a].append((link.b, link.cost))
            neighbours[link.b].append((link.a, link.cost))
        for lan in self.lans:
            neighbours[lan.name] = [(router, 0) for router in lan.routers]
            for router in lan.routers:
                neighbours[router].append((lan.name, lan.cost))
        distance = {source: 0}
        previous: dict[str, list[str]] = {source: []}
        queue = [(0, source)]
        while queue:
            cost, node = heapq.heappop(queue)
            if cost > distance[node]:
                continue
            for peer, step in neighbours[node]:
                total = cost + step
                if total < distance.get(peer, total + 1):
                    distance[peer] = total
                    previous[peer] = [node]
                    heapq.heappush(queue, (total, peer))
                elif total == distance[peer]:
                    previous[peer].append(node)
        return distance, previous

    def _distances(self, source: str, links: tuple[Link, ...]) -> tuple[dict[str, int], dict[str, set[Port]]]:
        """Least cost from ``source`` to every router (and LAN) it reaches, and the first hops of
        those paths: each the neighbour's port that ``source`` sends to (its address is the next hop)."""
        distance, previous = self._shortest(source, links)
        lans = self._lan_names()
        first_hops: dict[str, set[Port]] = {source: set()}
        # A LAN before the routers it reaches at no cost.
        for node in sorted(distance, key=lambda n: (distance[n], n not in lans)):
            if node == source:
                continue
            hops: set[Port] = set()
            for before in previous[node]:
                if before == source or (before in lans and not first_hops[before]):
                    # one hop from source (across a link, or across one of source's own LANs)
                    hops |= set() if node in lans else {self.port_towards(node, before)}
                else:
                    hops |= first_hops[before]
            first_hops[node] = hops
        return distance, first_hops

    def _validate(self) -> None:
        names = [r.name for r in self.routers] + [h.name for h in self.hosts] + [n.name for n in self.lans]
        if len(set(names)) != len(names):
            raise TopologyError(f"{self.name}: node names must be unique: {names}")
        for name in names:
            # Interface names are <node>-eth<N>: at most 15 characters (IFNAMSIZ).
            if not name.isalnum() or len(name) > 8:
                raise TopologyError(f"{self.name}: node name {name!r} must be 1..8 letters and digits")
            if re.fullmatch(r"w\d+", name):
                raise TopologyError(f"{self.name}: node name {name!r}: w<N> names the cables")
        routers = {r.name for r in self.routers}
        if len(routers) > 254:
            raise TopologyError(f"{self.name}: at most 254 routers")
        for host in self.hosts:
            if host.router not in routers:
                raise TopologyError(f"{self.name}: host {host.name} is on unknown router {host.router!r}")
        pairs = set()
        for link in self.links:
            if link.a not in routers or link.b not in routers or link.a == link.b:
                raise TopologyError(f"{self.name}: link {link.a}-{link.b} must join two different routers")
            if frozenset((link.a, link.b)) in pairs:
                raise TopologyError(f"{self.name}: more than one link {link.a}-{link.b}")
            pairs.add(frozenset((link.a, link.b)))
            if not 1 <= link.cost <= 0xFFFF:
                raise TopologyError(f"{self.name}: link {link.a}-{link.b} cost must be 1..65535")
            if not isinstance(link.network, LinkType):
                raise TopologyError(f"{self.name}: link {link.a}-{link.b} network must be a LinkType")
        if len(self.links) > 254 or len(self.hosts) > 254:
            raise TopologyError(f"{self.name}: at most 254 links and 254 hosts")
        if self.cut is not None and frozenset(self.cut) not in pairs:
            raise TopologyError(f"{self.name}: the cut link {self.cut} is not a link")
        for lan in self.lans:
            if len(lan.routers) < 2 or len(set(lan.routers)) != len(lan.routers):
                raise TopologyError(f"{self.name}: LAN {lan.name} must join two or more different routers")
            if not set(lan.routers) <= routers:
                raise TopologyError(f"{self.name}: LAN {lan.name} joins an unknown router: {lan.routers}")
            if not 1 <= lan.cost <= 0xFFFF:
                raise TopologyError(f"{self.name}: LAN {lan.name} cost must be 1..65535")
        if len(self.lans) > 254 or any(len(lan.routers) > 254 for lan in self.lans):
            raise TopologyError(f"{self.name}: at most 254 LANs of at most 254 routers")

    def _resolve_ports(self) -> dict[str, list[Port]]:
        ports: dict[str, list[Port]] = {r.name: [] for r in self.routers}

        def add(router: str, address: str, peer: str, cost: int, network: LinkType | None) -> None:
            number = len(ports[router]) + 1
            mac = f"02:00:00:00:{self.router_index(router):02x}:{number:02x}"
            interface = IPv4Interface(address)
            if network is None:  # a host's LAN
                ports[router].append(Port(router, number, interface, mac, peer, cost, True))
            else:
                ports[router].append(Port(router, number, interface, mac, peer, cost, False, network))

        for k, link in enumerate(self.links, start=1):
            add(link.a, f"10.0.{k}.1/24", link.b, link.cost, link.network)
            add(link.b, f"10.0.{k}.2/24", link.a, link.cost, link.network)
        for j, lan in enumerate(self.lans, start=1):
            for i, router in enumerate(lan.routers, start=1):
                add(router, f"10.1.{j}.{i}/24", lan.name, lan.cost, LinkType.BROADCAST)
        for n, host in enumerate(self.hosts, start=1):
            add(host.router, f"172.16.{n}.1/24", host.name, HOST_LAN_COST, None)
        return ports

    def _least_cost_paths(self, first: str, last: str, links: tuple[Link, ...]) -> list[list[str]]:
        """Every least-cost router path from ``first`` to ``last``."""
        distance, previous = self._shortest(first, links)
        if last not in distance:
            return []

        def unwind(node: str) -> list[list[str]]:
            if node == first:
                return [[first]]
            return [[*path, node] for before in previous[node] for path in unwind(before)]

        return unwind(last)


# --- the networks -----------------------------------------------------------------------


def line3() -> Topology:
    """Three routers in a line, a host at each end."""
    return Topology(
        name="line",
        description="three twinrouters in a line, a host at each end",
        routers=(Router("r1"), Router("r2"), Router("r3")),
        hosts=(Host("h1", "r1"), Host("h2", "r3")),
        links=(Link("r1", "r2"), Link("r2", "r3")),
    )


def ring4() -> Topology:
    """Four routers in a ring; the hosts sit at opposite corners, the r4 side costs more."""
    return Topology(
        name="ring",
        description="four twinrouters in a ring: a short path through r2 and a longer one through r4",
        routers=(Router("r1"), Router("r2"), Router("r3"), Router("r4")),
        hosts=(Host("h1", "r1"), Host("h2", "r3")),
        links=(Link("r1", "r2"), Link("r2", "r3"), Link("r3", "r4", cost=15), Link("r4", "r1", cost=15)),
        cut=("r1", "r2"),
    )


def mixed() -> Topology:
    """Two twinrouters and FRR (zebra + ospfd, the kernel forwards), on links and a LAN.

    FRR (r3) meets r2 on a point-to-point link, and both twinrouters on a LAN
    of the three (a DR, a BDR and a DROther elected; the LAN costs more, so
    traffic takes the links while they stand: h1 reaches h3 through r2, a
    twinrouter, then FRR). Cutting r1-r2 sends r1's traffic across the LAN.
    """
    return Topology(
        name="mixed",
        description="two twinrouters and FRR on links and a LAN of the three",
        routers=(Router("r1"), Router("r2"), Router("r3", RouterKind.FRR)),
        hosts=(Host("h1", "r1"), Host("h2", "r2"), Host("h3", "r3")),
        links=(Link("r1", "r2"), Link("r2", "r3")),
        lans=(Lan("lan1", ("r1", "r2", "r3"), cost=25),),
        cut=("r1", "r2"),
    )


TOPOLOGIES = {"line": line3, "ring": ring4, "mixed": mixed}
DEFAULT_TOPOLOGY = "ring"
