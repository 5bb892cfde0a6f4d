"""The OSPF instance's boundary: what it needs from the controller, and what it gives back.

In: ``OspfInstance.receive()`` for OSPF packets punted as LOCAL (IP protocol
89), ``interface_up()`` / ``interface_down()``. Out: a ``PacketSender``
(OSPF packet -> IP datagram -> packet-out) and a ``RouteSink`` (the RIB).
``controller/ospf/service.py`` binds both to the controller's ``Router``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Protocol

from controller.ospf.constants import IP_PROTOCOL
from controller.ospf.routes import OspfRoute
from controller.packets import ipv4_datagram
from sim.model.tables import MacAddress

#: IP precedence "internetwork control" (RFC 2328 §A.1), what FRR and others send.
_TOS_INTERNETWORK_CONTROL = 0xC0


@dataclass(frozen=True, slots=True)
class OspfInterfaceAddress:
    """What the instance needs to know about one of the router's interfaces."""

    name: str
    address: IPv4Interface  # the interface's address and prefix


class PacketSender(Protocol):
    def send(self, interface: str, source: IPv4Address, destination: IPv4Address, payload: bytes) -> None:
        """Sends an OSPF packet (the IP payload) out of ``interface``; must neither block nor raise
        (a packet that cannot go is lost, as on a wire: the protocol retransmits).

        ``destination`` is 224.0.0.5, 224.0.0.6 or a neighbour's address on
        the link. ``ospf_datagram()`` makes the IP datagram (TTL 1).
        """


class RouteSink(Protocol):
    def update_routes(self, installed: Sequence[OspfRoute], withdrawn: Sequence[IPv4Network]) -> None:
        """One SPF run's changes: routes added or replaced, prefixes no longer reachable."""


def ospf_datagram(source: IPv4Address, destination: IPv4Address, payload: bytes) -> bytes:
    """An IPv4 datagram carrying OSPF: TTL 1 (it never leaves the link), precedence 6."""
    return ipv4_datagram(source, destination, IP_PROTOCOL, payload, ttl=1, tos=_TOS_INTERNETWORK_CONTROL)


def multicast_mac(group: IPv4Address) -> MacAddress:
    """RFC 1112 §6.4: 01:00:5e followed by the group's low 23 bits."""
    return MacAddress(0x01005E000000 | (int(group) & 0x7FFFFF))
