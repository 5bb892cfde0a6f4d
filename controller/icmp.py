"""ICMP the router generates: echo replies, Time Exceeded, Destination Unreachable.

Errors follow RFC 1812 §4.3.2: the source is the address of the interface
the offending packet arrived on (so traceroute shows each hop by the
address it came in on), the body quotes the original IP header and the
first 8 bytes of its payload (RFC 792), and no error is ever sent about an
ICMP error, a non-first fragment, a packet to a broadcast or multicast
address (link or IP), or a packet whose source is not a single host. Echo
replies and errors each draw on their own token bucket (§4.3.2.8).

The responder builds datagrams; the router routes them (``originate``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network

from sim.model.codes import ETHERTYPE_IPV4

from .clock import Clock
from .config import RouterConfig
from .dataplane import EventCounters
from .packets import (
    DEFAULT_TTL,
    ICMP_DEST_UNREACHABLE,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMP_ERROR_TYPES,
    ICMP_TIME_EXCEEDED,
    IPPROTO_ICMP,
    Ethernet,
    Icmp,
    Ipv4,
    MalformedPacket,
    ipv4_datagram,
    parse_frame,
)
from .ratelimit import TokenBucket

log = logging.getLogger(__name__)

UNREACHABLE_NET = 0
UNREACHABLE_HOST = 1
UNREACHABLE_PORT = 3
TIME_EXCEEDED_TTL = 0

_NOT_A_HOST = tuple(IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4"))


class IcmpResponder:
    def __init__(
        self,
        config: RouterConfig,
        clock: Clock,
        originate: Callable[[bytes], None],
        counters: EventCounters,
    ):
        self._interfaces = {i.port: i for i in config.interfaces}
        self._our_addresses = {i.ip for i in config.interfaces}
        self._broadcasts = {
            i.network.broadcast_address for i in config.interfaces if i.network.prefixlen < 31
        }
        self._broadcasts.add(IPv4Address("255.255.255.255"))
        self._errors = TokenBucket(clock, config.icmp.error_rate, config.icmp.error_burst)
        self._echoes = TokenBucket(clock, config.icmp.echo_rate, config.icmp.echo_burst)
        self._originate = originate
        self._counters = counters

    # --- echo ------------------------------------------------------------------

    def handle_echo(self, ip: Ipv4) -> None:
        """An ICMP datagram addressed to the router: answer echo requests, ignore the rest."""
        try:
            icmp = Icmp.parse(ip.payload)
        except MalformedPacket as error:
            self._counters["icmp_malformed"] += 1
            log.debug("ignoring ICMP from %s: %s", ip.src, error)
            return
        if icmp.type != ICMP_ECHO_REQUEST or icmp.code != 0:
            self._counters["icmp_ignored"] += 1
            return
        if (
            ip.dst not in self._our_addresses
            or not _is_host(ip.src)
            or ip.fragment_offset
            or ip.more_fragments
        ):
            # Broadcast pings and fragmented requests (we do not reassemble) go unanswered.
            self._counters["icmp_ignored"] += 1
            return
        if not self._echoes.take():
            self._counters["icmp_rate_limited"] += 1
            return
        reply = Icmp(ICMP_ECHO_REPLY, 0, icmp.rest, icmp.body).pack()
        self._originate(ipv4_datagram(ip.dst, ip.src, IPPROTO_ICMP, reply, tos=ip.tos, options=ip.options))
        self._counters["icmp_echo_replies_sent"] += 1

    # --- errors ----------------------------------------------------------------

    def time_exceeded(self, ingress_port: int, frame: bytes) -> None:
        self._error(ingress_port, frame, ICMP_TIME_EXCEEDED, TIME_EXCEEDED_TTL)

    def net_unreachable(self, ingress_port: int, frame: bytes) -> None:
        self._error(ingress_port, frame, ICMP_DEST_UNREACHABLE, UNREACHABLE_NET)

    def port_unreachable(self, ingress_port: int, frame: bytes) -> None:
        self._error(ingress_port, frame, ICMP_DEST_UNREACHABLE, UNREACHABLE_PORT)

    def _error(self, ingress_port: int, frame: bytes, icmp_type: int, code: int) -> None:
        interface = self._interfaces.get(ingress_port)
        try:
            eth = parse_frame(frame, ETHERTYPE_IPV4)
            original = Ipv4.parse(eth.payload)
        except MalformedPacket as error:
            self._counters["icmp_malformed"] += 1
            log.debug("no ICMP error for a malformed punt on port %d: %s", ingress_port, error)
            return
        if interface is None:
            self._counters["icmp_unknown_port"] += 1
            return
        reason = self._why_no_error(eth, original)
        if reason is not None:
            self._counters[f"icmp_error_suppressed_{reason}"] += 1
            return
        if not self._errors.take():
            self._counters["icmp_rate_limited"] += 1
            return
        quote = original.header + original.payload[:8]
        message = Icmp(icmp_type, code, bytes(4), quote).pack()
        self._originate(ipv4_datagram(interface.ip, original.src, IPPROTO_ICMP, message, ttl=DEFAULT_TTL))
        self._counters[
            f"icmp_{'time_exceeded' if icmp_type == ICMP_TIME_EXCEEDED else 'unreachable'}_sent"
        ] += 1

    def _why_no_error(self, eth: Ethernet, ip: Ipv4) -> str | None:
        """RFC 1812 §4.3.2.7: the packets that must never cause an ICMP error."""
        if ip.fragment_offset:
            return "fragment"
        if eth.dst.is_broadcast or eth.dst.packed[0] & 1:
            return "link_broadcast"
        if ip.dst in self._broadcasts or ip.dst.is_multicast:
            return "broadcast"
        if not _is_host(ip.src) or ip.src in self._broadcasts:
            return "source"
        if ip.protocol == IPPROTO_ICMP and (len(ip.payload) < 1 or ip.payload[0] in ICMP_ERROR_TYPES):
            return "about_icmp_error"
        return None


def _is_host(address: IPv4Address) -> bool:
    return not any(address in net for net in _NOT_A_HOST) and address != IPv4Address("255.255.255.255")
