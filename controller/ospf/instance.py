"""The OSPF instance: one router's area-0 process. Ties interfaces, the database, origination,
flooding and SPF together, and is the only object the controller talks to."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from controller.clock import Clock
from controller.clock import TimerHandle as Timer
from controller.ospf import flooding, spf
from controller.ospf.config import OspfConfig, OspfConfigError
from controller.ospf.constants import (
    ALL_D_ROUTERS,
    BACKBONE,
    INITIAL_SEQUENCE_NUMBER,
    MAX_AGE,
    MAX_SEQUENCE_NUMBER,
    OPTION_E,
    LsaType,
)
from controller.ospf.drops import DropReason, MalformedPacket
from controller.ospf.interface import Interface, InterfaceState
from controller.ospf.io import OspfInterfaceAddress, PacketSender, RouteSink
from controller.ospf.lsa import Body, Lsa, LsaKey, same_contents
from controller.ospf.lsdb import Lsdb
from controller.ospf.neighbor import NeighborState
from controller.ospf.origination import network_lsa_body, router_lsa_body
from controller.ospf.packets import (
    DatabaseDescription,
    Hello,
    LinkStateAck,
    LinkStateRequest,
    LinkStateUpdate,
    decode,
)
from controller.ospf.routes import OspfRoute, diff
from controller.ospf.status import snapshot

log = logging.getLogger(__name__)

_SWEEP_INTERVAL = 1.0  # how often MaxAge LSAs waiting for acknowledgments are looked at again


class OspfInstance:
    def __init__(
        self,
        router_id: IPv4Address,
        config: OspfConfig,
        interfaces: Iterable[OspfInterfaceAddress],
        clock: Clock,
        sender: PacketSender,
        route_sink: RouteSink | None = None,
    ) -> None:
        self.router_id = config.router_id or router_id
        self.config = config
        self.clock = clock
        self.options = OPTION_E
        self._sender = sender
        self._route_sink = route_sink
        self._random = random.Random(int(self.router_id))
        addresses = {i.name: i for i in interfaces}
        self.interfaces: dict[str, Interface] = {}
        for name, settings in config.interfaces.items():
            if name not in addresses:
                raise OspfConfigError(
                    f"ospf.interfaces.{name}", "no interface of that name in the router's config"
                )
            address = addresses[name]
            self.interfaces[name] = Interface(self, name, address.address, settings)
        self.lsdb = Lsdb(clock, self._reached_max_age, self._refresh)
        self.drops: Counter[DropReason] = Counter()
        self.received: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        self.routing_table: dict[IPv4Network, OspfRoute] = {}
        self.routes: dict[IPv4Network, OspfRoute] = {}  # what went to the RIB: not directly attached
        self.spf_runs = 0
        self.last_spf_seconds = 0.0
        self._last_origination: dict[LsaKey, float] = {}
        self._origination_timer: Timer | None = None
        self._spf_timer: Timer | None = None
        self._sweep_timer: Timer | None = None
        self._started = False

    # ----- events in ---------------------------------------------------------------------------

    def start(self) -> None:
        """Originates our router-LSA and brings every OSPF interface up."""
        self._started = True
        self.schedule_origination()
        for interface in self.interfaces.values():
            interface.up()

    def stop(self) -> None:
        """Silently leaves: interfaces down, timers off, database emptied, routes withdrawn from the RIB."""
        self._started = False
        for interface in self.interfaces.values():
            interface.down()
        for timer in (self._origination_timer, self._spf_timer, self._sweep_timer):
            if timer is not None:
                timer.cancel()
        self._origination_timer = self._spf_timer = self._sweep_timer = None
        for key in list(self.lsdb.keys()):
            self.lsdb.remove(key)
        if self.routes and self._route_sink is not None:
            self._route_sink.update_routes((), tuple(self.routes))
        self.routes, self.routing_table = {}, {}

    def interface_up(self, name: str) -> None:
        if name in self.interfaces:
            self.interfaces[name].up()

    def interface_down(self, name: str) -> None:
        if name in self.interfaces:
            self.interfaces[name].down()

    def receive(self, interface: str, source: IPv4Address, destination: IPv4Address, payload: bytes) -> None:
        """An OSPF packet (the IP payload); anything wrong with it is counted in ``drops``."""
        try:
            reason = self._receive(interface, source, destination, payload)
        except MalformedPacket as error:
            reason = error.reason
        if reason is not None:
            self.count(reason)

    def _receive(
        self, name: str, source: IPv4Address, destination: IPv4Address, payload: bytes
    ) -> DropReason | None:
        interface = self.interfaces.get(name)
        if interface is None:
            return DropReason.UNKNOWN_INTERFACE
        if interface.state == InterfaceState.DOWN:
            return DropReason.INTERFACE_DOWN
        if interface.config.passive:
            return DropReason.PASSIVE_INTERFACE
        packet = decode(payload, interface.config.authentication)  # §8.2's packet checks
        if packet.area_id != BACKBONE:
            return DropReason.BAD_AREA
        if packet.router_id == self.router_id:
            return DropReason.OWN_PACKET
        if destination == ALL_D_ROUTERS and interface.state not in (InterfaceState.DR, InterfaceState.BACKUP):
            return DropReason.WRONG_DESTINATION
        if interface.broadcast and source not in interface.address.network:
            return DropReason.SOURCE_NOT_ON_SUBNET
        body = packet.body
        self.received[type(body).__name__] += 1
        if isinstance(body, Hello):
            return interface.receive_hello(packet, body, source)
        neighbor = interface.find_neighbor(packet.router_id, source)
        if neighbor is None:
            return DropReason.UNKNOWN_NEIGHBOR
        if isinstance(body, DatabaseDescription):
            return neighbor.receive_dd(body)
        if isinstance(body, LinkStateRequest):
            return neighbor.receive_request(body)
        if isinstance(body, LinkStateUpdate):
            flooding.receive_update(self, neighbor, body)
        elif isinstance(body, LinkStateAck):
            flooding.receive_ack(self, neighbor, body)
        return None

    # ----- services for interfaces, neighbours and flooding ------------------------------------

    def send(self, interface: Interface, destination: IPv4Address, payload: bytes) -> None:
        self.sent[f"type-{payload[1]}"] += 1
        self._sender.send(interface.name, interface.ip, destination, payload)

    def count(self, reason: DropReason) -> None:
        self.drops[reason] += 1
        log.debug("ospf: dropped (%s)", reason)

    def random_u32(self) -> int:
        return self._random.getrandbits(32) or 1

    def exchanging(self) -> bool:
        """Whether any neighbour is in Exchange or Loading (§13 step 4, §14)."""
        return any(
            n.state in (NeighborState.EXCHANGE, NeighborState.LOADING)
            for interface in self.interfaces.values()
            for n in interface.neighbors.values()
        )

    def install(self, lsa: Lsa, self_originated: bool = False) -> None:
        """§13.2: installs ``lsa``; the routing table is recalculated if its contents changed."""
        old = self.lsdb.install(lsa, self_originated)
        if old is None or not same_contents(old, lsa):
            self.schedule_spf()
        if lsa.header.age >= MAX_AGE:
            self._schedule_sweep(0)

    def remove_from_retransmissions(self, key: LsaKey) -> None:
        for interface in self.interfaces.values():
            for neighbor in interface.neighbors.values():
                neighbor.remove_retransmission(key)

    def retransmissions_changed(self) -> None:
        if self._sweep_timer is None and self.lsdb.max_age_keys():
            self._schedule_sweep(0)

    def is_self_originated(self, lsa: Lsa) -> bool:
        """§13.4: advertised by us, or a network-LSA for one of our addresses."""
        if lsa.header.adv_router == self.router_id:
            return True
        return lsa.header.type == LsaType.NETWORK and any(
            i.ip == lsa.header.ls_id for i in self.interfaces.values()
        )

    def received_self_originated(self, lsa: Lsa) -> None:
        """§13.4: a newer copy of something we originate: take it back with a higher sequence number,
        or flush it if we no longer originate it."""
        desired = self._desired_lsas()
        if lsa.key in desired:
            self._originate(lsa.key, desired[lsa.key])
        else:
            self._flush(lsa.key)

    def interface_state_changed(self, interface: Interface) -> None:
        self.schedule_origination()
        self.schedule_spf()

    def adjacency_changed(self, interface: Interface) -> None:
        self.schedule_origination()

    # ----- origination (§12.4), refresh and flushing (§14) -------------------------------------

    def schedule_origination(self, delay: float = 0.0) -> None:
        # Deferred, so that origination never runs inside another packet's processing.
        if self._started and self._origination_timer is None:
            self._origination_timer = self.clock.call_later(delay, self._originate_all)

    def _desired_lsas(self) -> dict[LsaKey, Body]:
        desired: dict[LsaKey, Body] = {
            LsaKey(LsaType.ROUTER, self.router_id, self.router_id): router_lsa_body(self.interfaces.values())
        }
        for interface in self.interfaces.values():
            body = network_lsa_body(interface, self.router_id)
            if body is not None:
                desired[LsaKey(LsaType.NETWORK, interface.ip, self.router_id)] = body
        return desired

    def _originate_all(self) -> None:
        self._origination_timer = None
        desired = self._desired_lsas()
        for key, body in desired.items():
            self._originate(key, body)
        for key in list(self.lsdb.keys()):
            if key.adv_router == self.router_id and key not in desired:
                self._flush(key)

    def _originate(self, key: LsaKey, body: Body, refresh: bool = False) -> None:
        entry = self.lsdb.entry(key)
        current = self.lsdb.get(key)
        unchanged = current is not None and current.header.age < MAX_AGE and current.body == body
        if unchanged and entry is not None and entry.self_originated and not refresh:
            return
        now = self.clock.now()
        last = self._last_origination.get(key)
        if last is not None and now - last < self.config.min_ls_interval:
            self.schedule_origination(last + self.config.min_ls_interval - now)
            return
        if current is not None and current.header.seq >= MAX_SEQUENCE_NUMBER:
            self._flush(key)  # §12.1.6: wrap by flushing; re-originated once the flush is acknowledged
            return
        seq = current.header.seq + 1 if current is not None else INITIAL_SEQUENCE_NUMBER
        lsa = Lsa.build(LsaType(key.type), key.ls_id, self.router_id, seq, self.options, body)
        self._last_origination[key] = now
        log.debug("originating %s seq %#x", key, seq & 0xFFFFFFFF)
        self.remove_from_retransmissions(key)
        self.install(lsa, self_originated=True)
        flooding.flood(self, lsa, None, None)

    def _refresh(self, key: LsaKey) -> None:
        """LSRefreshTime: a self-originated LSA gets a new instance, or goes if no longer wanted."""
        desired = self._desired_lsas()
        if key in desired:
            self._originate(key, desired[key], refresh=True)
        else:
            self._flush(key)

    def _flush(self, key: LsaKey) -> None:
        """Premature aging (§14.1): MaxAge, flooded, removed once everyone acknowledged it."""
        current = self.lsdb.get(key)
        if current is None or current.header.age >= MAX_AGE:
            return
        aged = current.with_age(MAX_AGE)
        self.remove_from_retransmissions(key)
        self.install(aged, self_originated=current.header.adv_router == self.router_id)
        flooding.flood(self, aged, None, None)

    def _reached_max_age(self, key: LsaKey) -> None:
        lsa = self.lsdb.get(key)
        if lsa is None:
            return
        flooding.flood(self, lsa, None, None)
        self.schedule_spf()
        self._schedule_sweep(0)

    def _schedule_sweep(self, delay: float) -> None:
        if self._sweep_timer is None:
            self._sweep_timer = self.clock.call_later(delay, self._sweep)

    def _sweep(self) -> None:
        """§14: a MaxAge LSA leaves the database once no neighbour is exchanging or still owes an ack."""
        self._sweep_timer = None
        waiting = self.lsdb.max_age_keys()
        if not waiting:
            return
        if not self.exchanging():
            listed = {
                key
                for interface in self.interfaces.values()
                for neighbor in interface.neighbors.values()
                for key in neighbor.retransmissions
            }
            removed_own = False
            for key in waiting:
                if key not in listed:
                    self.lsdb.remove(key)
                    removed_own |= key.adv_router == self.router_id
            if removed_own:
                self.schedule_origination()
        if self.lsdb.max_age_keys():
            self._schedule_sweep(_SWEEP_INTERVAL)

    # ----- routing table (§16) -----------------------------------------------------------------

    def schedule_spf(self) -> None:
        if self._started and self._spf_timer is None:
            self._spf_timer = self.clock.call_later(self.config.spf_delay, self.run_spf)

    def _neighbor_address(self, interface: str, router_id: IPv4Address) -> IPv4Address | None:
        for neighbor in self.interfaces[interface].neighbors.values():
            if neighbor.router_id == router_id:
                return neighbor.address
        return None

    def run_spf(self) -> None:
        """Recalculates the routing table now (normally scheduled by database changes, after spf_delay)."""
        self._spf_timer = None
        started = time.perf_counter()
        up = [i for i in self.interfaces.values() if i.state != InterfaceState.DOWN]
        result = spf.calculate(
            self.router_id, self.lsdb.lsas(), {i.ip: i.name for i in up}, self._neighbor_address
        )
        self.spf_runs += 1
        self.last_spf_seconds = time.perf_counter() - started
        self.routing_table = result.routes
        # Subnets we are attached to stay with the connected routes, even where SPF found a path
        # through a neighbour cheaper than our own interface's cost.
        attached = {i.address.network for i in up}
        exported = {
            prefix: route
            for prefix, route in result.routes.items()
            if not route.directly_attached and prefix not in attached
        }
        changes = diff(self.routes, exported)
        self.routes = exported
        if self._route_sink is not None and (changes.installed or changes.withdrawn):
            self._route_sink.update_routes(changes.installed, changes.withdrawn)
        if changes.installed or changes.withdrawn:
            log.info(
                "ospf: %d routes (+%d -%d)", len(exported), len(changes.installed), len(changes.withdrawn)
            )

    # ----- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """A plain-data snapshot (JSON-serialisable) for ``twinrouter show ospf``."""
        return snapshot(self, self.clock.now())
