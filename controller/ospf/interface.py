"""One OSPF interface: the interface state machine (RFC 2328 §9.3), hellos (§9.5, §10.5),
DR election (§9.4), packet checks that need the interface (§8.2), and how it sends."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from enum import IntEnum
from ipaddress import IPv4Address, IPv4Interface
from typing import TYPE_CHECKING

from controller.clock import TimerHandle as Timer
from controller.ospf.config import NetworkType, OspfInterfaceConfig
from controller.ospf.constants import (
    ALL_D_ROUTERS,
    ALL_SPF_ROUTERS,
    BACKBONE,
    HEADER_LENGTH,
    IP_HEADER_LENGTH,
    LSA_HEADER_LENGTH,
    MAX_AGE,
    NO_ROUTER,
    OPTION_E,
)
from controller.ospf.drops import DropReason
from controller.ospf.election import Candidate, elect
from controller.ospf.lsa import Lsa, LsaHeader
from controller.ospf.neighbor import Neighbor, NeighborState
from controller.ospf.packets import Body, Hello, LinkStateAck, LinkStateUpdate, Packet

if TYPE_CHECKING:
    from controller.ospf.instance import OspfInstance

log = logging.getLogger(__name__)


class InterfaceState(IntEnum):
    DOWN = 0
    LOOPBACK = 1
    WAITING = 2
    POINT_TO_POINT = 3
    DR_OTHER = 4
    BACKUP = 5
    DR = 6

    def __str__(self) -> str:
        return {3: "Point-to-Point", 4: "DROther", 6: "DR"}.get(self.value, self.name.title())


class Interface:
    def __init__(
        self,
        instance: OspfInstance,
        name: str,
        address: IPv4Interface,
        config: OspfInterfaceConfig,
    ) -> None:
        self.instance = instance
        self.name = name
        self.address = address
        self.mtu = config.mtu
        self.config = config
        self.state = InterfaceState.DOWN
        self.dr = NO_ROUTER
        self.bdr = NO_ROUTER
        #: by interface address on broadcast networks, by router id on point-to-point ones (§10.5)
        self.neighbors: dict[IPv4Address, Neighbor] = {}
        self._hello_timer: Timer | None = None
        self._wait_timer: Timer | None = None
        self._delayed_acks: list[LsaHeader] = []
        self._ack_timer: Timer | None = None

    @property
    def ip(self) -> IPv4Address:
        return self.address.ip

    @property
    def broadcast(self) -> bool:
        return self.config.network == NetworkType.BROADCAST

    @property
    def active(self) -> bool:
        """Up and speaking OSPF (not passive)."""
        return self.state != InterfaceState.DOWN and not self.config.passive

    def __repr__(self) -> str:
        return f"Interface({self.name} {self.address}, {self.state})"

    # ----- interface state machine (§9.3) --------------------------------------------------------

    def up(self) -> None:
        if self.state != InterfaceState.DOWN:
            return
        if self.config.passive:
            self._set_state(InterfaceState.DR_OTHER if self.broadcast else InterfaceState.POINT_TO_POINT)
            return
        self._send_hello()
        if not self.broadcast:
            self._set_state(InterfaceState.POINT_TO_POINT)
        elif self.config.priority == 0:
            self._set_state(InterfaceState.DR_OTHER)
        else:
            self._set_state(InterfaceState.WAITING)
            self._wait_timer = self.instance.clock.call_later(
                self.config.dead_interval, self._wait_timer_fired
            )

    def down(self) -> None:
        if self.state == InterfaceState.DOWN:
            return
        for timer in (self._hello_timer, self._wait_timer, self._ack_timer):
            if timer is not None:
                timer.cancel()
        self._hello_timer = self._wait_timer = self._ack_timer = None
        self._delayed_acks.clear()
        for neighbor in list(self.neighbors.values()):
            neighbor.kill("LLDown")
        self.neighbors.clear()
        self.dr = self.bdr = NO_ROUTER
        self._set_state(InterfaceState.DOWN)

    def _wait_timer_fired(self) -> None:
        self._wait_timer = None
        if self.state == InterfaceState.WAITING:
            self._elect("WaitTimer")

    def _backup_seen(self) -> None:
        if self.state == InterfaceState.WAITING:
            if self._wait_timer is not None:
                self._wait_timer.cancel()
                self._wait_timer = None
            self._elect("BackupSeen")

    def neighbor_change(self) -> None:
        if self.state in (InterfaceState.DR_OTHER, InterfaceState.BACKUP, InterfaceState.DR):
            self._elect("NeighborChange")

    def _set_state(self, new: InterfaceState) -> None:
        old, self.state = self.state, new
        if old != new:
            log.info("interface %s: %s -> %s", self.name, old, new)
            self.instance.interface_state_changed(self)

    # ----- DR election (§9.4) ------------------------------------------------------------------

    def _elect(self, event: str) -> None:
        me = Candidate(self.instance.router_id, self.ip, self.config.priority, self.dr, self.bdr)
        others = [
            Candidate(n.router_id, n.address, n.priority, n.dr, n.bdr)
            for n in self.neighbors.values()
            if n.state >= NeighborState.TWO_WAY
        ]
        old = (self.dr, self.bdr)
        self.dr, self.bdr = elect(me, others)
        if self.dr == self.ip:
            self._set_state(InterfaceState.DR)
        elif self.bdr == self.ip:
            self._set_state(InterfaceState.BACKUP)
        else:
            self._set_state(InterfaceState.DR_OTHER)
        if old != (self.dr, self.bdr):
            log.info("interface %s (%s): DR %s, BDR %s", self.name, event, self.dr, self.bdr)
            for neighbor in list(self.neighbors.values()):
                if neighbor.state >= NeighborState.TWO_WAY:
                    neighbor.adj_ok()
            self.instance.interface_state_changed(self)

    def should_be_adjacent(self, neighbor: Neighbor) -> bool:
        """§10.4."""
        if not self.broadcast:
            return True
        return self.ip in (self.dr, self.bdr) or neighbor.address in (self.dr, self.bdr)

    def neighbor_state_changed(self, neighbor: Neighbor, old: NeighborState, new: NeighborState) -> None:
        two_way = NeighborState.TWO_WAY
        if (old >= two_way) != (new >= two_way) and self.broadcast:
            self.neighbor_change()
        if new == NeighborState.DOWN:
            neighbor.stop()
            if self.neighbors.get(self._neighbor_key(neighbor.router_id, neighbor.address)) is neighbor:
                del self.neighbors[self._neighbor_key(neighbor.router_id, neighbor.address)]
        if (old == NeighborState.FULL) != (new == NeighborState.FULL):
            self.instance.adjacency_changed(self)
        if old in (NeighborState.EXCHANGE, NeighborState.LOADING):
            self.instance.retransmissions_changed()

    def _neighbor_key(self, router_id: IPv4Address, address: IPv4Address) -> IPv4Address:
        return address if self.broadcast else router_id

    def find_neighbor(self, router_id: IPv4Address, source: IPv4Address) -> Neighbor | None:
        return self.neighbors.get(self._neighbor_key(router_id, source))

    # ----- hellos (§9.5, §10.5) ----------------------------------------------------------------

    def _send_hello(self) -> None:
        neighbors = tuple(
            sorted(n.router_id for n in self.neighbors.values() if n.state >= NeighborState.INIT)
        )
        hello = Hello(
            self.address.netmask,
            self.config.advertised_hello_interval,
            self.instance.options,
            self.config.priority,
            self.config.dead_interval,
            self.dr,
            self.bdr,
            neighbors,
        )
        self._hello_timer = self.instance.clock.call_later(self.config.hello_period, self._send_hello)
        self.send(hello, ALL_SPF_ROUTERS)

    def receive_hello(self, packet: Packet, hello: Hello, source: IPv4Address) -> DropReason | None:
        if self.broadcast and hello.network_mask != self.address.netmask:
            return DropReason.HELLO_MASK_MISMATCH
        if hello.hello_interval != self.config.advertised_hello_interval:
            return DropReason.HELLO_INTERVAL_MISMATCH
        if hello.dead_interval != self.config.dead_interval:
            return DropReason.DEAD_INTERVAL_MISMATCH
        if (hello.options & OPTION_E) != (self.instance.options & OPTION_E):
            return DropReason.OPTIONS_MISMATCH
        key = self._neighbor_key(packet.router_id, source)
        neighbor = self.neighbors.get(key)
        if neighbor is None:
            neighbor = self.neighbors[key] = Neighbor(self, packet.router_id, source)
        neighbor.router_id, neighbor.address = packet.router_id, source
        was = (neighbor.priority, neighbor.dr == source, neighbor.bdr == source)
        neighbor.priority, neighbor.dr, neighbor.bdr = (
            hello.priority,
            hello.designated_router,
            hello.backup_designated_router,
        )
        neighbor.hello_received()
        if self.instance.router_id not in hello.neighbors:
            neighbor.one_way_received()
            return None
        neighbor.two_way_received()
        if not self.broadcast or neighbor.state < NeighborState.TWO_WAY:
            return None
        self._hello_events(neighbor, hello, source, was)
        return None

    def _hello_events(
        self, neighbor: Neighbor, hello: Hello, source: IPv4Address, was: tuple[int, bool, bool]
    ) -> None:
        """§10.5's BackupSeen and NeighborChange events from what the hello declares."""
        priority_before, dr_before, bdr_before = was
        declares_dr = hello.designated_router == source
        declares_bdr = hello.backup_designated_router == source
        change = priority_before != hello.priority
        if (
            declares_dr
            and hello.backup_designated_router == NO_ROUTER
            and self.state == InterfaceState.WAITING
        ):
            self._backup_seen()
        elif declares_dr != dr_before:
            change = True
        if declares_bdr and self.state == InterfaceState.WAITING:
            self._backup_seen()
        elif declares_bdr != bdr_before:
            change = True
        if change:
            self.neighbor_change()

    # ----- sending -----------------------------------------------------------------------------

    @property
    def _flood_address(self) -> IPv4Address:
        """§13.3: DR and BDR (and point-to-point) send to AllSPFRouters, the others to AllDRouters."""
        if not self.broadcast or self.state in (InterfaceState.DR, InterfaceState.BACKUP):
            return ALL_SPF_ROUTERS
        return ALL_D_ROUTERS

    def send(self, body: Body, destination: IPv4Address) -> None:
        packet = Packet(self.instance.router_id, BACKBONE, body)
        self.instance.send(self, destination, packet.encode(self.config.authentication))

    def send_to_neighbor(self, body: Body, neighbor: Neighbor) -> None:
        """§8.1: unicast on broadcast networks, AllSPFRouters on point-to-point links."""
        self.send(body, neighbor.address if self.broadcast else ALL_SPF_ROUTERS)

    def _update_packets(self, lsas: Sequence[Lsa]) -> list[LinkStateUpdate]:
        """LSAs aged by InfTransDelay (§13.3), packed into as few MTU-sized updates as fit."""
        room = self.mtu - IP_HEADER_LENGTH - HEADER_LENGTH - 4
        packets, batch, size = [], [], 0
        for lsa in lsas:
            aged = lsa.with_age(min(MAX_AGE, lsa.header.age + self.config.transmit_delay))
            if batch and size + aged.header.length > room:
                packets.append(LinkStateUpdate(tuple(batch)))
                batch, size = [], 0
            batch.append(aged)
            size += aged.header.length
        if batch:
            packets.append(LinkStateUpdate(tuple(batch)))
        return packets

    def send_update(self, lsas: Sequence[Lsa], neighbor: Neighbor) -> None:
        for update in self._update_packets(lsas):
            self.send_to_neighbor(update, neighbor)

    def flood(self, lsas: Sequence[Lsa]) -> None:
        for update in self._update_packets(lsas):
            self.send(update, self._flood_address)

    def send_direct_ack(self, headers: Sequence[LsaHeader], neighbor: Neighbor) -> None:
        room = (self.mtu - IP_HEADER_LENGTH - HEADER_LENGTH) // LSA_HEADER_LENGTH
        for start in range(0, len(headers), room):
            self.send_to_neighbor(LinkStateAck(tuple(headers[start : start + room])), neighbor)

    def delay_ack(self, header: LsaHeader) -> None:
        """§13.5: delayed acks go out together, well within the neighbours' RxmtInterval."""
        self._delayed_acks.append(header)
        if self._ack_timer is None:
            delay = min(1.0, self.config.retransmit_interval / 2)
            self._ack_timer = self.instance.clock.call_later(delay, self._send_delayed_acks)

    def _send_delayed_acks(self) -> None:
        self._ack_timer = None
        headers, self._delayed_acks = self._delayed_acks, []
        room = (self.mtu - IP_HEADER_LENGTH - HEADER_LENGTH) // LSA_HEADER_LENGTH
        for start in range(0, len(headers), room):
            self.send(LinkStateAck(tuple(headers[start : start + room])), self._flood_address)
