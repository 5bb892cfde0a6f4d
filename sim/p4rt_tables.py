"""The router's table state as P4Runtime table entries (finsy entities).

One function per table of ``p4/router.p4``; :func:`table_entries` turns a
whole :class:`~sim.model.tables.TableState` into the entries that program it.
Pure translation, no I/O: the BMv2 harness and the controller both write
what these return.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from finsy import P4TableAction, P4TableEntry, P4TableMatch

from sim.model.tables import Direct, MacAddress, NextHop, NullRoute, RouteAction, TableState

ROUTER_MAC = "ingress.router_mac"
PORT_MAC = "egress.port_mac"
LOCAL_IP = "ingress.local_ip"
IPV4_LPM = "ingress.ipv4_lpm"
ARP = "ingress.arp"

#: Tables in the order :func:`table_entries` lists their entries.
TABLES = (ROUTER_MAC, PORT_MAC, LOCAL_IP, IPV4_LPM, ARP)


def router_mac_entry(port: int, mac: MacAddress) -> P4TableEntry:
    """Frames to ``mac`` arriving on ``port`` are the router's."""
    return P4TableEntry(
        ROUTER_MAC,
        match=P4TableMatch(port=port),
        action=P4TableAction("ingress.set_router_mac", mac=mac.value),
    )


def port_mac_entry(port: int, mac: MacAddress) -> P4TableEntry:
    """Routed packets leave ``port`` with source ``mac``."""
    return P4TableEntry(
        PORT_MAC,
        match=P4TableMatch(port=port),
        action=P4TableAction("egress.set_src_mac", mac=mac.value),
    )


def local_ip_entry(address: IPv4Address) -> P4TableEntry:
    """Packets to ``address`` are punted as LOCAL."""
    return P4TableEntry(
        LOCAL_IP,
        match=P4TableMatch(dst_addr=int(address)),
        action=P4TableAction("ingress.deliver_local"),
    )


def route_entry(prefix: IPv4Network, action: RouteAction) -> P4TableEntry:
    """One ``ipv4_lpm`` route; a /0 prefix becomes the P4Runtime don't-care match."""
    match = P4TableMatch(dst_addr=(int(prefix.network_address), prefix.prefixlen))
    if isinstance(action, NextHop):
        table_action = P4TableAction("ingress.set_nexthop", nhop_ip=int(action.ip), port=action.port)
    elif isinstance(action, Direct):
        table_action = P4TableAction("ingress.set_direct", port=action.port)
    elif isinstance(action, NullRoute):
        table_action = P4TableAction("ingress.drop")
    else:
        raise TypeError(f"route {prefix}: not a route action: {action!r}")
    return P4TableEntry(IPV4_LPM, match=match, action=table_action)


def neighbour_entry(address: IPv4Address, mac: MacAddress) -> P4TableEntry:
    """Packets whose next hop is ``address`` leave with destination ``mac``."""
    return P4TableEntry(
        ARP,
        match=P4TableMatch(nhop_ip=int(address)),
        action=P4TableAction("ingress.set_dmac", mac=mac.value),
    )


def table_entries(state: TableState) -> list[P4TableEntry]:
    """Every entry that programs ``state``.

    A port's MAC feeds both ``router_mac`` and ``port_mac`` unless the state
    gives its router MACs separately.
    """
    router_macs = state.port_macs if state.router_macs is None else state.router_macs
    entries: list[P4TableEntry] = []
    entries += [router_mac_entry(port, mac) for port, mac in sorted(router_macs.items())]
    entries += [port_mac_entry(port, mac) for port, mac in sorted(state.port_macs.items())]
    entries += [local_ip_entry(address) for address in sorted(state.local_ips)]
    entries += [
        route_entry(prefix, action)
        for prefix, action in sorted(state.routes.items(), key=lambda item: _prefix_key(item[0]))
    ]
    entries += [neighbour_entry(address, mac) for address, mac in sorted(state.neighbours.items())]
    return entries


def _prefix_key(prefix: IPv4Network) -> tuple[int, int]:
    return (int(prefix.network_address), prefix.prefixlen)
