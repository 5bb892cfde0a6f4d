"""The router's control plane without I/O: config, RIB, ARP and ICMP behind one packet-in entry point.

:class:`Router` owns the protocol state and speaks to the switch only
through a :class:`~controller.dataplane.Dataplane`. It is driven by
:meth:`Router.start` (program the configuration), :meth:`Router.connected`
(each time the switch is in sync and takes packet-outs) and
:meth:`Router.handle_packet_in` (one call per punted frame); timers run on
the :class:`~controller.clock.Clock` it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv4Network

from sim.model.codes import CPU_PORT, ETHERTYPE_IPV4, PuntReason
from sim.model.tables import Direct, NextHop, NullRoute, TableState

from .arp import ArpService
from .clock import Clock
from .config import RouterConfig, StaticRouteConfig
from .dataplane import Dataplane, EventCounters
from .icmp import IcmpResponder
from .intent import DELIVER_LOCAL, Entries, Table, table_state_of
from .packets import IPPROTO_ICMP, Ethernet, Ipv4, MalformedPacket, forwarded_datagram, parse_frame
from .rib import Rib, Route, Source, connected_routes, static_routes

log = logging.getLogger(__name__)

IPPROTO_UDP = 17

#: Handler for datagrams of one IP protocol addressed to the router: (ingress port, datagram, frame).
LocalHandler = Callable[[int, Ipv4, Ethernet], None]


class Router:
    def __init__(self, config: RouterConfig, clock: Clock, dataplane: Dataplane):
        self.config = config
        self.clock = clock
        self.counters = EventCounters()
        self.rib = Rib()
        self._dataplane = dataplane
        self.arp = ArpService(config, clock, dataplane, self.counters)
        self.icmp = IcmpResponder(config, clock, self.originate, self.counters)
        self._local_handlers: dict[int, LocalHandler] = {IPPROTO_ICMP: self._icmp_to_us}
        self.unresolved_statics: list[tuple[StaticRouteConfig, str]] = []
        self._addresses = {i.ip for i in config.interfaces}

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Program the interfaces and configured routes."""
        changes: dict = dict(self.interface_entries())
        changes.update(self.rib.replace_source(Source.CONNECTED, connected_routes(self.config.interfaces)))
        statics, self.unresolved_statics = static_routes(self.config)
        for static, why in self.unresolved_statics:
            log.warning("static route %s not installed: %s", static.prefix, why)
        changes.update(self.rib.replace_source(Source.STATIC, statics))
        self._dataplane.change(changes)

    def connected(self) -> None:
        """The switch holds our intent and takes packet-outs (again): announce, resolve gateways."""
        self.arp.announce()
        self._resolve_next_hops()

    def interface_entries(self) -> Entries:
        """``router_mac``, ``port_mac`` and ``local_ip`` entries from the config."""
        entries: Entries = {}
        for interface in self.config.interfaces:
            entries[(Table.ROUTER_MAC, interface.port)] = interface.mac
            entries[(Table.PORT_MAC, interface.port)] = interface.mac
            entries[(Table.LOCAL_IP, interface.ip)] = DELIVER_LOCAL
        return entries

    def update_routes(self, source: Source, routes: Iterable[Route]) -> None:
        """Replace every route of ``source`` (the OSPF speaker calls this after each SPF run)."""
        changes = self.rib.replace_source(source, routes)
        if changes:
            self._dataplane.change(changes)
        self._resolve_next_hops()

    def change_routes(
        self, source: Source, routes: Iterable[Route], withdrawn: Iterable[IPv4Network]
    ) -> None:
        """Add or replace some routes of ``source`` and withdraw others (incremental SPF results)."""
        changes = self.rib.update_source(source, routes, withdrawn)
        if changes:
            self._dataplane.change(changes)
        self._resolve_next_hops()

    def register_protocol(self, protocol: int, handler: LocalHandler) -> None:
        """Deliver datagrams of IP ``protocol`` that are addressed to the router to ``handler``."""
        self._local_handlers[protocol] = handler

    def _resolve_next_hops(self) -> None:
        for ip, port in self.rib.next_hops():
            self.arp.resolve(ip, port)

    # --- what the data plane should hold ---------------------------------------

    def intent(self) -> Entries:
        """Every entry the controller wants installed, computed from its state."""
        entries = self.interface_entries()
        entries.update({(Table.IPV4_LPM, prefix): action for prefix, action in self.rib.fib().items()})
        entries.update({(Table.ARP, ip): n.mac for ip, n in self.arp.neighbours.items()})
        return entries

    def table_state(self) -> TableState:
        """The intent as the reference model's :class:`TableState`."""
        return table_state_of(self.intent(), self.config.num_ports)

    # --- packet-ins ------------------------------------------------------------

    def handle_packet_in(self, ingress_port: int, reason: int, frame: bytes) -> None:
        """One punted frame. Nothing here raises on bad input: it is counted and dropped."""
        self.counters["packet_in"] += 1
        try:
            punt = PuntReason(reason)
        except ValueError:
            self.counters["packet_in_bad_reason"] += 1
            return
        if not 1 <= ingress_port < CPU_PORT:
            self.counters["packet_in_bad_port"] += 1
            return
        if punt is PuntReason.ARP:
            self.arp.handle_frame(ingress_port, frame)
        elif punt is PuntReason.TTL_EXPIRED:
            self.icmp.time_exceeded(ingress_port, frame)
        elif punt is PuntReason.NO_ROUTE:
            self.icmp.net_unreachable(ingress_port, frame)
        elif punt is PuntReason.ARP_MISS:
            self._forward_after_miss(ingress_port, frame)
        else:
            self._deliver_local(ingress_port, frame)

    def _parse_ip(self, frame: bytes, what: str) -> tuple[Ethernet, Ipv4] | None:
        try:
            eth = parse_frame(frame, ETHERTYPE_IPV4)
            return eth, Ipv4.parse(eth.payload)
        except MalformedPacket as error:
            self.counters[f"{what}_malformed"] += 1
            log.debug("ignoring a malformed %s punt: %s", what, error)
            return None

    def _deliver_local(self, ingress_port: int, frame: bytes) -> None:
        parsed = self._parse_ip(frame, "local")
        if parsed is None:
            return
        eth, ip = parsed
        handler = self._local_handlers.get(ip.protocol)
        if handler is not None:
            handler(ingress_port, ip, eth)
        elif ip.protocol == IPPROTO_UDP and ip.dst in self._addresses:
            # No UDP service listens here: what traceroute to the router expects.
            self.icmp.port_unreachable(ingress_port, frame)
        else:
            self.counters["local_unhandled"] += 1

    def _icmp_to_us(self, ingress_port: int, ip: Ipv4, eth: Ethernet) -> None:
        self.icmp.handle_echo(ip)

    def _forward_after_miss(self, ingress_port: int, frame: bytes) -> None:
        """An ARP_MISS punt: do the data plane's rewrite ourselves once the next hop is known."""
        parsed = self._parse_ip(frame, "arp_miss")
        if parsed is None:
            return
        _, ip = parsed
        if ip.ttl <= 1:
            self.icmp.time_exceeded(ingress_port, frame)
            return
        match = self.rib.lookup(ip.dst)
        if match is None:
            self.icmp.net_unreachable(ingress_port, frame)
            return
        action = match[1]
        if isinstance(action, NullRoute):
            self.counters["arp_miss_null_route"] += 1
            return
        next_hop = action.ip if isinstance(action, NextHop) else ip.dst
        assert isinstance(action, (NextHop, Direct))
        self.arp.send_ip(forwarded_datagram(frame[14:]), next_hop, action.port)

    # --- sending ---------------------------------------------------------------

    def originate(self, datagram: bytes) -> None:
        """Route a datagram the router itself sends (ICMP, OSPF unicast)."""
        destination = IPv4Address(datagram[16:20])
        match = self.rib.lookup(destination)
        if match is None or isinstance(match[1], NullRoute):
            self.counters["originate_no_route"] += 1
            return
        action = match[1]
        next_hop = action.ip if isinstance(action, NextHop) else destination
        self.arp.send_ip(datagram, next_hop, action.port)

    def send_frame(self, port: int, frame: bytes) -> None:
        """Send a finished frame out of ``port`` (link-local traffic: OSPF multicast)."""
        self._dataplane.send_packet(port, frame)
