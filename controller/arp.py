"""ARP (RFC 826) for the router's interfaces: answer, learn, resolve, age.

- Requests for an interface's own address, arriving on that interface, are
  answered.
- Senders are learned when the packet is addressed to us (target address is
  ours), when we are resolving them, or when they are already known
  (RFC 826's merge rule); only senders on the ingress interface's subnet.
- Resolution (for ARP_MISS punts and for packets the router originates)
  broadcasts a request, retries with exponential backoff, and holds the
  packets waiting for the answer in a bounded queue per next hop. When the
  answer comes, the neighbour is installed in the ``arp`` table and the held
  packets go out as packet-outs; if it never comes, they are dropped and
  counted.
- Entries live ``reachable_time`` from their last confirmation; a unicast
  request goes out ``refresh_margin`` before that, and an entry whose
  neighbour stops answering is removed.
- On startup each interface announces itself with a gratuitous ARP.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from sim.model.codes import ETHERTYPE_ARP
from sim.model.tables import BROADCAST_MAC, MacAddress

from .clock import Clock, TimerHandle
from .config import ArpConfig, InterfaceConfig, RouterConfig
from .dataplane import Dataplane, EventCounters
from .intent import Table
from .packets import (
    ARP_REPLY,
    ARP_REQUEST,
    ZERO_MAC,
    Arp,
    MalformedPacket,
    arp_frame,
    frame_with_ip,
    parse_frame,
)

log = logging.getLogger(__name__)


@dataclass
class Neighbour:
    ip: IPv4Address
    mac: MacAddress
    port: int
    expires: float
    refresh_timer: TimerHandle | None = None


@dataclass
class Resolution:
    """A request in flight for ``ip`` out of ``port``, with the packets waiting for it."""

    ip: IPv4Address
    port: int
    held: deque[bytes] = field(default_factory=deque)  # finished IPv4 datagrams
    attempts: int = 0
    timer: TimerHandle | None = None
    unicast_to: MacAddress | None = None  # refreshing a known entry


class ArpService:
    def __init__(self, config: RouterConfig, clock: Clock, dataplane: Dataplane, counters: EventCounters):
        self._interfaces = {i.port: i for i in config.interfaces}
        self._settings: ArpConfig = config.arp
        self._clock = clock
        self._dataplane = dataplane
        self._counters = counters
        self.neighbours: dict[IPv4Address, Neighbour] = {}
        self.resolving: dict[IPv4Address, Resolution] = {}

    # --- inputs ----------------------------------------------------------------

    def announce(self) -> None:
        """Gratuitous ARP (an RFC 5227 announcement) on every interface."""
        for interface in self._interfaces.values():
            arp = Arp(ARP_REQUEST, interface.mac, interface.ip, ZERO_MAC, interface.ip)
            self._send(interface.port, arp_frame(BROADCAST_MAC, arp))
            self._counters["arp_gratuitous_sent"] += 1

    def handle_frame(self, ingress_port: int, frame: bytes) -> None:
        """An ARP punt. Malformed or foreign packets are counted and ignored."""
        try:
            arp = Arp.parse(parse_frame(frame, ETHERTYPE_ARP).payload)
        except MalformedPacket as error:
            self._counters["arp_malformed"] += 1
            log.debug("ignoring ARP punt on port %d: %s", ingress_port, error)
            return
        interface = self._interfaces.get(ingress_port)
        if interface is None:
            self._counters["arp_unknown_port"] += 1
            return
        if arp.sender_mac.packed[0] & 1 or arp.sender_mac == ZERO_MAC:
            self._counters["arp_bad_sender"] += 1
            return
        self._counters["arp_received"] += 1
        self._learn(interface, arp)
        if arp.op == ARP_REQUEST and arp.target_ip == interface.ip and arp.sender_ip != interface.ip:
            reply = Arp(ARP_REPLY, interface.mac, interface.ip, arp.sender_mac, arp.sender_ip)
            self._send(ingress_port, arp_frame(arp.sender_mac, reply))
            self._counters["arp_replies_sent"] += 1

    def send_ip(self, datagram: bytes, next_hop: IPv4Address, port: int) -> None:
        """Send a finished IPv4 datagram to ``next_hop`` on ``port``, resolving it first if needed."""
        interface = self._interfaces.get(port)
        if interface is None:
            self._counters["arp_unknown_port"] += 1
            return
        neighbour = self.neighbours.get(next_hop)
        if neighbour is not None:
            self._send(port, frame_with_ip(neighbour.mac, interface.mac, datagram))
            return
        resolution = self.resolving.get(next_hop)
        if resolution is None:
            if len(self.resolving) >= self._settings.max_pending:
                self._counters["arp_dropped_too_many_pending"] += 1
                return
            resolution = self.resolving[next_hop] = Resolution(next_hop, port)
            self._request(resolution)
        if len(resolution.held) >= self._settings.queue_length:
            self._counters["arp_dropped_queue_full"] += 1
            return
        resolution.held.append(datagram)

    def resolve(self, next_hop: IPv4Address, port: int) -> None:
        """Resolve ``next_hop`` ahead of traffic (route gateways), unless known or in flight."""
        if next_hop in self.neighbours or next_hop in self.resolving or port not in self._interfaces:
            return
        if len(self.resolving) >= self._settings.max_pending:
            self._counters["arp_dropped_too_many_pending"] += 1
            return
        resolution = self.resolving[next_hop] = Resolution(next_hop, port)
        self._request(resolution)

    def adopt(self, ip: IPv4Address, mac: MacAddress) -> None:
        """Take over an entry found on the switch (after a controller restart) as if just learned.

        It is polled before expiry like any other, so a neighbour that has
        gone is removed; one on none of our subnets is not adopted (and the
        reconcile then deletes it).
        """
        interface = next((i for i in self._interfaces.values() if ip in i.network), None)
        if interface is not None and ip not in self.neighbours:
            self._counters["arp_entries_adopted"] += 1
            self._install(Neighbour(ip, mac, interface.port, 0.0))

    # --- learning --------------------------------------------------------------

    def _learn(self, interface: InterfaceConfig, arp: Arp) -> None:
        sender = arp.sender_ip
        if sender == interface.ip:
            if arp.sender_mac != interface.mac:
                self._counters["arp_address_conflict"] += 1
                log.warning("%s: %s claims our address %s", interface.name, arp.sender_mac, sender)
            return
        if sender not in interface.network or sender == interface.network.broadcast_address:
            self._counters["arp_sender_off_subnet"] += 1
            return
        addressed_to_us = arp.target_ip == interface.ip
        if not (addressed_to_us or sender in self.neighbours or sender in self.resolving):
            return
        self._install(Neighbour(sender, arp.sender_mac, interface.port, 0.0))

    def _install(self, neighbour: Neighbour) -> None:
        old = self.neighbours.get(neighbour.ip)
        if old is not None and old.refresh_timer is not None:
            old.refresh_timer.cancel()
        neighbour.expires = self._clock.now() + self._settings.reachable_time
        refresh_at = neighbour.expires - self._settings.refresh_margin
        neighbour.refresh_timer = self._clock.call_at(refresh_at, lambda: self._refresh(neighbour.ip))
        self.neighbours[neighbour.ip] = neighbour
        if old is None or old.mac != neighbour.mac:
            self._dataplane.change({(Table.ARP, neighbour.ip): neighbour.mac})
            self._counters["arp_entries_installed"] += 1
        resolution = self.resolving.pop(neighbour.ip, None)
        if resolution is not None:
            self._complete(resolution, neighbour)

    def _complete(self, resolution: Resolution, neighbour: Neighbour) -> None:
        if resolution.timer is not None:
            resolution.timer.cancel()
        # Held packets leave by the port their route chose, to the MAC just learned.
        interface = self._interfaces[resolution.port]
        while resolution.held:
            datagram = resolution.held.popleft()
            self._send(resolution.port, frame_with_ip(neighbour.mac, interface.mac, datagram))
            self._counters["arp_held_packets_sent"] += 1

    def _refresh(self, ip: IPv4Address) -> None:
        neighbour = self.neighbours.get(ip)
        if neighbour is None or ip in self.resolving:
            return
        resolution = Resolution(ip, neighbour.port, unicast_to=neighbour.mac)
        self.resolving[ip] = resolution
        self._request(resolution)

    # --- requests and retries --------------------------------------------------

    def _request(self, resolution: Resolution) -> None:
        interface = self._interfaces[resolution.port]
        request = Arp(ARP_REQUEST, interface.mac, interface.ip, ZERO_MAC, resolution.ip)
        self._send(resolution.port, arp_frame(resolution.unicast_to or BROADCAST_MAC, request))
        self._counters["arp_requests_sent"] += 1
        delay = self._settings.retry_interval * self._settings.retry_backoff**resolution.attempts
        resolution.attempts += 1
        resolution.timer = self._clock.call_at(self._clock.now() + delay, lambda: self._retry(resolution))

    def _retry(self, resolution: Resolution) -> None:
        if self.resolving.get(resolution.ip) is not resolution:
            return  # answered meanwhile
        if resolution.attempts <= self._settings.max_retries:
            self._request(resolution)
            return
        del self.resolving[resolution.ip]
        self._counters["arp_resolution_failed"] += 1
        self._counters["arp_dropped_unresolved"] += len(resolution.held)
        neighbour = self.neighbours.pop(resolution.ip, None)
        if neighbour is not None:
            self._dataplane.change({(Table.ARP, resolution.ip): None})
            self._counters["arp_entries_expired"] += 1

    def _send(self, port: int, frame: bytes) -> None:
        self._dataplane.send_packet(port, frame)
