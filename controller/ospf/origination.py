"""What this router advertises (RFC 2328 §12.4.1, §12.4.2): its router-LSA and, as DR, network-LSAs."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address

from controller.ospf.constants import RouterLinkType
from controller.ospf.interface import Interface, InterfaceState
from controller.ospf.lsa import NetworkLsaBody, RouterLink, RouterLsaBody
from controller.ospf.neighbor import NeighborState


def router_lsa_body(interfaces: Iterable[Interface]) -> RouterLsaBody:
    links: list[RouterLink] = []
    for interface in sorted(interfaces, key=lambda i: i.name):
        links += _links(interface)
    return RouterLsaBody(0, tuple(links))


def _links(interface: Interface) -> list[RouterLink]:
    cost = interface.config.cost
    stub = RouterLink(
        interface.address.network.network_address, interface.address.netmask, RouterLinkType.STUB, cost
    )
    if interface.state == InterfaceState.DOWN:
        return []
    if interface.config.passive or interface.state == InterfaceState.WAITING:
        return [stub]
    if not interface.broadcast:
        # §12.4.1.1: a link to each Full neighbour, plus the subnet as a stub (option 2).
        links = [
            RouterLink(n.router_id, interface.ip, RouterLinkType.POINT_TO_POINT, cost)
            for n in sorted(interface.neighbors.values(), key=lambda n: n.router_id)
            if n.state == NeighborState.FULL
        ]
        return [*links, stub]
    # §12.4.1.2: a transit link once we are Full with the DR (or are the DR, Full with someone).
    if transit_network(interface):
        return [RouterLink(interface.dr, interface.ip, RouterLinkType.TRANSIT, cost)]
    return [stub]


def transit_network(interface: Interface) -> bool:
    full = [n for n in interface.neighbors.values() if n.state == NeighborState.FULL]
    if interface.state == InterfaceState.DR:
        return bool(full)
    return any(n.address == interface.dr for n in full)


def network_lsa_body(interface: Interface, router_id: IPv4Address) -> NetworkLsaBody | None:
    """§12.4.2: only the DR, and only while it is Full with at least one router."""
    if interface.state != InterfaceState.DR or interface.config.passive:
        return None
    full = sorted(n.router_id for n in interface.neighbors.values() if n.state == NeighborState.FULL)
    if not full:
        return None
    return NetworkLsaBody(interface.address.netmask, (router_id, *full))
