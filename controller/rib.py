"""The routing information base: candidate routes from every source, and the FIB they make.

Each source (connected interfaces, static config, OSPF) offers at most one
route per prefix; the FIB holds, per prefix, the candidate with the lowest
administrative distance. Every change returns the ``ipv4_lpm`` change set
for exactly the prefixes whose best route changed, so the data plane sees
the minimum of writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network

from sim.model.tables import Direct, NextHop, NullRoute, RouteAction

from .config import InterfaceConfig, RouterConfig, StaticRouteConfig
from .intent import ChangeSet, EntryValue, Table


class Source(StrEnum):
    CONNECTED = "connected"
    STATIC = "static"
    OSPF = "ospf"


#: Administrative distance by source (Cisco's numbers, which FRR uses too).
DEFAULT_DISTANCE = {Source.CONNECTED: 0, Source.STATIC: 1, Source.OSPF: 110}
_SOURCE_ORDER = {source: rank for rank, source in enumerate(Source)}


@dataclass(frozen=True)
class Route:
    prefix: IPv4Network
    source: Source
    action: RouteAction
    distance: int

    @property
    def preference(self) -> tuple[int, int]:
        return (self.distance, _SOURCE_ORDER[self.source])


def _key(prefix: IPv4Network) -> int:
    """The RIB's dictionary key for ``prefix``: network address and length in one int.

    An IPv4Network hashes in Python (a third of a microsecond) and route
    installation probes the RIB's maps several times per route; an int
    hashes in C. The FIB keyed this way is also its own longest-prefix-match
    table (see :meth:`Rib.lookup`), with nothing else to keep up to date.
    """
    return int(prefix.network_address) << 6 | prefix.prefixlen


class Rib:
    def __init__(self) -> None:
        self._candidates: dict[int, dict[Source, Route]] = {}
        self._fib: dict[int, Route] = {}

    # --- changing routes -------------------------------------------------------

    def replace_source(self, source: Source, routes: Iterable[Route]) -> ChangeSet:
        """Make ``routes`` the whole offer of ``source``; return the FIB change set."""
        new: dict[int, Route] = {}
        for route in routes:
            if route.source is not source:
                raise ValueError(f"{route} offered as {source}")
            if new.setdefault(_key(route.prefix), route) is not route:
                raise ValueError(f"{source} offers {route.prefix} twice")
        old = [k for k, by_source in self._candidates.items() if source in by_source and k not in new]
        for key in old:
            self._withdraw(key, source)
        changes = self._refresh(old)
        candidates, fib, lpm = self._candidates, self._fib, Table.IPV4_LPM
        for key, route in new.items():  # _refresh, unrolled for the routes offered: once per route
            offers = candidates.get(key)
            if offers is None:
                candidates[key] = {source: route}
                best = route
            else:
                offers[source] = route
                best = min(offers.values(), key=lambda r: r.preference)
            current = fib.get(key)
            fib[key] = best
            if current is None or current.action != best.action:
                changes[(lpm, best.prefix)] = best.action
        return changes

    def update_source(
        self, source: Source, routes: Iterable[Route], withdrawn: Iterable[IPv4Network] = ()
    ) -> ChangeSet:
        """Add or replace ``routes`` and withdraw ``withdrawn`` for ``source``; return the FIB change set."""
        touched = []
        for prefix in withdrawn:
            key = _key(prefix)
            self._withdraw(key, source)
            touched.append(key)
        for route in routes:
            if route.source is not source:
                raise ValueError(f"{route} offered as {source}")
            key = _key(route.prefix)
            self._candidates.setdefault(key, {})[source] = route
            touched.append(key)
        return self._refresh(touched)

    def add(self, route: Route) -> ChangeSet:
        key = _key(route.prefix)
        self._candidates.setdefault(key, {})[route.source] = route
        return self._refresh([key])

    def remove(self, prefix: IPv4Network, source: Source) -> ChangeSet:
        key = _key(prefix)
        self._withdraw(key, source)
        return self._refresh([key])

    def _withdraw(self, key: int, source: Source) -> None:
        by_source = self._candidates.get(key)
        if by_source is not None:
            by_source.pop(source, None)
            if not by_source:
                del self._candidates[key]

    def _refresh(self, keys: Iterable[int]) -> dict[tuple[Table, IPv4Network], EntryValue | None]:
        """Choose the best offer again for ``keys``; the FIB changes that makes."""
        changes: dict[tuple[Table, IPv4Network], EntryValue | None] = {}
        fib, candidates = self._fib, self._candidates
        for key in keys:
            offers = candidates.get(key)
            current = fib.get(key)
            if not offers:
                if current is not None:
                    del fib[key]
                    changes[(Table.IPV4_LPM, current.prefix)] = None
                continue
            if len(offers) == 1:
                [best] = offers.values()  # the common case: one source knows the prefix
            else:
                best = min(offers.values(), key=lambda r: r.preference)
            fib[key] = best
            if current is None or current.action != best.action:
                changes[(Table.IPV4_LPM, best.prefix)] = best.action
        return changes

    # --- reading ---------------------------------------------------------------

    def fib(self) -> dict[IPv4Network, RouteAction]:
        return {route.prefix: route.action for route in self._fib.values()}

    def best(self, prefix: IPv4Network) -> Route | None:
        return self._fib.get(_key(prefix))

    def lookup(self, address: IPv4Address) -> tuple[IPv4Network, RouteAction] | None:
        """Longest-prefix match in the FIB, as the data plane would do it: /32 down to /0."""
        addr, fib = int(address), self._fib
        for length in range(32, -1, -1):
            route = fib.get((addr >> (32 - length) << (32 - length)) << 6 | length)
            if route is not None:
                return route.prefix, route.action
        return None

    def candidates(self) -> Iterator[tuple[Route, bool]]:
        """Every candidate route with whether it is the one in the FIB, by prefix (address, then length)."""
        for key in sorted(self._candidates):
            chosen = self._fib.get(key)
            for route in sorted(self._candidates[key].values(), key=lambda r: r.preference):
                yield route, route == chosen

    def next_hops(self) -> set[tuple[IPv4Address, int]]:
        """Gateways the FIB forwards to, with their ports: ARP keeps these resolved."""
        return {(r.action.ip, r.action.port) for r in self._fib.values() if isinstance(r.action, NextHop)}


# --- routes from the configuration -----------------------------------------------


def connected_routes(interfaces: Iterable[InterfaceConfig]) -> list[Route]:
    """Each interface's subnet, plus a null route for its directed broadcast (RFC 2644)."""
    routes = []
    for interface in interfaces:
        network = interface.network
        distance = DEFAULT_DISTANCE[Source.CONNECTED]
        routes.append(Route(network, Source.CONNECTED, Direct(interface.port), distance))
        if network.prefixlen <= 30:
            broadcast = IPv4Network(network.broadcast_address)
            routes.append(Route(broadcast, Source.CONNECTED, NullRoute(), distance))
    return routes


def static_routes(config: RouterConfig) -> tuple[list[Route], list[tuple[StaticRouteConfig, str]]]:
    """The configured static routes that resolve, and those that do not with the reason.

    A next hop resolves through the connected subnets only (no recursion
    through other routes): its port is the interface whose subnet holds it.
    """
    routes: list[Route] = []
    unresolved: list[tuple[StaticRouteConfig, str]] = []
    for static in config.static_routes:
        action: RouteAction
        if static.null:
            action = NullRoute()
        elif static.interface is not None:
            interface = config.interface_by_name(static.interface)
            assert interface is not None  # the config validated it
            action = Direct(interface.port)
        else:
            assert static.next_hop is not None
            interface = next((i for i in config.interfaces if static.next_hop in i.network), None)
            if interface is None:
                unresolved.append((static, f"next hop {static.next_hop} is on no connected subnet"))
                continue
            if static.next_hop == interface.ip:
                unresolved.append((static, f"next hop {static.next_hop} is the router's own address"))
                continue
            action = NextHop(static.next_hop, interface.port)
        routes.append(Route(static.prefix, Source.STATIC, action, static.distance))
    return routes, unresolved
