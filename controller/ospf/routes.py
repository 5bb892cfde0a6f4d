"""The routes OSPF computes, and the difference between two routing tables (for minimal RIB writes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from controller.ospf.constants import ADMIN_DISTANCE


@dataclass(frozen=True, slots=True, order=True)
class OspfNextHop:
    interface: str
    address: IPv4Address | None  # None: the destination is on the link itself (directly attached)

    def __str__(self) -> str:
        return f"{self.address or 'direct'} via {self.interface}"


@dataclass(frozen=True, slots=True)
class OspfRoute:
    prefix: IPv4Network
    cost: int
    #: every equal-cost next hop, sorted (by address, then interface); see ``preferred``.
    next_hops: tuple[OspfNextHop, ...]
    distance: int = ADMIN_DISTANCE

    @property
    def preferred(self) -> OspfNextHop:
        """The one next hop a single-path data plane takes: the lowest next-hop address.

        Lowest-address is deterministic across restarts and across routers, and
        does not depend on the order LSAs arrived in.
        """
        return min(self.next_hops, key=_next_hop_order)

    @property
    def directly_attached(self) -> bool:
        return any(hop.address is None for hop in self.next_hops)


def _next_hop_order(hop: OspfNextHop) -> tuple[int, str]:
    return (-1 if hop.address is None else int(hop.address), hop.interface)


def sort_next_hops(hops: set[OspfNextHop]) -> tuple[OspfNextHop, ...]:
    return tuple(sorted(hops, key=_next_hop_order))


@dataclass(frozen=True, slots=True)
class RouteChanges:
    installed: tuple[OspfRoute, ...]
    withdrawn: tuple[IPv4Network, ...]


def diff(old: Mapping[IPv4Network, OspfRoute], new: Mapping[IPv4Network, OspfRoute]) -> RouteChanges:
    installed = tuple(route for prefix, route in sorted(new.items()) if old.get(prefix) != route)
    withdrawn = tuple(sorted(prefix for prefix in old if prefix not in new))
    return RouteChanges(installed, withdrawn)
