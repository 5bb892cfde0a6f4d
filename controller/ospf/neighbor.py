"""One neighbour: the neighbour state machine (RFC 2328 §10.3), Database Description exchange
(§10.6, §10.8), Link State Requests (§10.7, §10.9) and the retransmission list (§13.6)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from enum import IntEnum
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from controller.clock import TimerHandle as Timer
from controller.ospf.constants import (
    DD_FLAG_I,
    DD_FLAG_M,
    DD_FLAG_MS,
    HEADER_LENGTH,
    IP_HEADER_LENGTH,
    LSA_HEADER_LENGTH,
    MAX_AGE,
    NO_ROUTER,
)
from controller.ospf.drops import DropReason
from controller.ospf.lsa import KNOWN_TYPES, Lsa, LsaHeader, LsaKey, compare
from controller.ospf.packets import DatabaseDescription, LinkStateRequest

if TYPE_CHECKING:
    from controller.ospf.interface import Interface

log = logging.getLogger(__name__)

_DD_FIXED = 8
_REQUEST_SIZE = 12


class NeighborState(IntEnum):
    DOWN = 0
    ATTEMPT = 1
    INIT = 2
    TWO_WAY = 3
    EXSTART = 4
    EXCHANGE = 5
    LOADING = 6
    FULL = 7

    def __str__(self) -> str:
        return self.name.replace("_", "-").title().replace("Two-Way", "2-Way").replace("Exstart", "ExStart")


class Neighbor:
    def __init__(self, interface: Interface, router_id: IPv4Address, address: IPv4Address) -> None:
        self.interface = interface
        self.router_id = router_id
        self.address = address
        self.priority = 0
        self.dr = NO_ROUTER  # as declared in its hellos
        self.bdr = NO_ROUTER
        self.options = 0
        self.state = NeighborState.DOWN
        self.master = False  # whether *we* are master of the exchange
        self.dd_sequence = 0
        self.events: list[str] = []  # recent state changes, for `show ospf neighbors`
        self._last_received_dd: tuple[int, int, int] | None = None  # (flags, options, sequence)
        self._last_sent_dd: DatabaseDescription | None = None
        self._summary: list[LsaHeader] = []
        self.requests: dict[LsaKey, LsaHeader] = {}
        self._outstanding_requests: set[LsaKey] = set()
        self.retransmissions: dict[LsaKey, Lsa] = {}
        self._inactivity: Timer | None = None
        self._dd_timer: Timer | None = None
        self._request_timer: Timer | None = None
        self._retransmit_timer: Timer | None = None

    def __repr__(self) -> str:
        return f"Neighbor({self.router_id} at {self.address} on {self.interface.name}, {self.state})"

    # ----- state machine (§10.3) -------------------------------------------------------------------

    def hello_received(self) -> None:
        if self.state == NeighborState.DOWN:
            self._set_state(NeighborState.INIT, "HelloReceived")
        self._restart_inactivity_timer()

    def two_way_received(self) -> None:
        if self.state == NeighborState.INIT:
            if self.interface.should_be_adjacent(self):
                self._start_exchange("2-WayReceived")
            else:
                self._set_state(NeighborState.TWO_WAY, "2-WayReceived")

    def one_way_received(self) -> None:
        if self.state >= NeighborState.TWO_WAY:
            self._clear_lists()
            self._set_state(NeighborState.INIT, "1-WayReceived")

    def adj_ok(self) -> None:
        """AdjOK?: the DR or BDR changed; form or tear down the adjacency accordingly."""
        wanted = self.interface.should_be_adjacent(self)
        if self.state == NeighborState.TWO_WAY and wanted:
            self._start_exchange("AdjOK?")
        elif self.state >= NeighborState.EXSTART and not wanted:
            self._clear_lists()
            self._set_state(NeighborState.TWO_WAY, "AdjOK?")

    def seq_number_mismatch(self, event: str = "SeqNumberMismatch") -> None:
        if self.state >= NeighborState.EXCHANGE:
            self._clear_lists()
            self._start_exchange(event)

    def bad_ls_req(self) -> None:
        self.seq_number_mismatch("BadLSReq")

    def kill(self, event: str = "KillNbr") -> None:
        """KillNbr, LLDown and InactivityTimer all end here."""
        self._clear_lists()
        self._cancel(self._inactivity)
        self._inactivity = None
        self._set_state(NeighborState.DOWN, event)

    def _start_exchange(self, event: str) -> None:
        """Enter ExStart: a new DD sequence number, we claim master, send the empty I/M/MS packet."""
        self.master = True
        instance = self.interface.instance
        # §10.8: a unique start the first time (a random one here), one more on every restart.
        self.dd_sequence = (self.dd_sequence + 1) & 0xFFFFFFFF if self.dd_sequence else instance.random_u32()
        self._last_received_dd = None
        self._set_state(NeighborState.EXSTART, event)
        if self.state != NeighborState.EXSTART:
            return  # the DR election this set off decided against the adjacency (AdjOK?)
        flags = DD_FLAG_I | DD_FLAG_M | DD_FLAG_MS
        self._send_dd(DatabaseDescription(self.interface.mtu, instance.options, flags, self.dd_sequence))

    def _negotiation_done(self) -> None:
        self._set_state(NeighborState.EXCHANGE, "NegotiationDone")
        lsdb = self.interface.instance.lsdb
        self._summary = []
        for lsa in lsdb.lsas():
            if lsa.header.age >= MAX_AGE:
                self.retransmissions[lsa.key] = lsa  # §10.3: MaxAge LSAs go on the retransmission list
            else:
                self._summary.append(lsa.header)
        self._arm_retransmit()

    def _exchange_done(self) -> None:
        self._cancel(self._dd_timer)
        self._dd_timer = None
        if self.requests:
            self._set_state(NeighborState.LOADING, "ExchangeDone")
            if not self._outstanding_requests:
                self._send_requests()
        else:
            self._set_state(NeighborState.FULL, "ExchangeDone")

    def _loading_done(self) -> None:
        self._set_state(NeighborState.FULL, "LoadingDone")

    def _set_state(self, new: NeighborState, event: str) -> None:
        old = self.state
        if old == new:
            return
        self.state = new
        now = self.interface.instance.clock.now()
        self.events = [*self.events[-7:], f"{now:.1f} {old}->{new} ({event})"]
        log.info("%s neighbour %s: %s -> %s (%s)", self.interface.name, self.router_id, old, new, event)
        self.interface.neighbor_state_changed(self, old, new)

    # ----- timers ------------------------------------------------------------------------------

    def _restart_inactivity_timer(self) -> None:
        self._cancel(self._inactivity)
        clock = self.interface.instance.clock
        self._inactivity = clock.call_later(
            self.interface.config.dead_interval, lambda: self.kill("InactivityTimer")
        )

    @staticmethod
    def _cancel(timer: Timer | None) -> None:
        if timer is not None:
            timer.cancel()

    def _clear_lists(self) -> None:
        self._summary = []
        self.requests.clear()
        self._outstanding_requests.clear()
        self.retransmissions.clear()
        self._last_sent_dd = None
        self._last_received_dd = None
        for timer in (self._dd_timer, self._request_timer, self._retransmit_timer):
            self._cancel(timer)
        self._dd_timer = self._request_timer = self._retransmit_timer = None
        self.interface.instance.retransmissions_changed()

    def stop(self) -> None:
        """Cancels every timer (the neighbour is being deleted)."""
        for timer in (self._inactivity, self._dd_timer, self._request_timer, self._retransmit_timer):
            self._cancel(timer)

    # ----- Database Description (§10.6, §10.8) ---------------------------------------------------

    def receive_dd(self, dd: DatabaseDescription) -> DropReason | None:
        """Processes a DD packet; returns why it was ignored, if it was."""
        interface = self.interface
        if not interface.config.mtu_ignore and dd.mtu > interface.mtu:
            return DropReason.MTU_MISMATCH
        if self.state == NeighborState.INIT:
            self.two_way_received()
        if self.state < NeighborState.EXSTART:
            return DropReason.NEIGHBOR_STATE
        if self.state == NeighborState.EXSTART:
            return self._negotiate(dd)
        if self._last_received_dd == (dd.flags, dd.options, dd.sequence):
            if not self.master and self._last_sent_dd is not None:
                self._transmit_dd()  # the slave answers a duplicate by repeating itself
            return DropReason.DD_DUPLICATE
        if self.state != NeighborState.EXCHANGE:
            self.seq_number_mismatch()
            return None
        expected = self.dd_sequence if self.master else (self.dd_sequence + 1) & 0xFFFFFFFF
        if dd.master == self.master or dd.init or dd.options != self.options or dd.sequence != expected:
            self.seq_number_mismatch()
            return None
        self._accept_dd(dd)
        return None

    def _negotiate(self, dd: DatabaseDescription) -> DropReason | None:
        own_id = self.interface.instance.router_id
        if dd.init and dd.more and dd.master and not dd.headers and self.router_id > own_id:
            self.master = False
            self.dd_sequence = dd.sequence
        elif not dd.init and not dd.master and dd.sequence == self.dd_sequence and self.router_id < own_id:
            self.master = True
        else:
            return DropReason.DD_IGNORED
        self.options = dd.options
        self._negotiation_done()
        self._accept_dd(dd)
        return None

    def _accept_dd(self, dd: DatabaseDescription) -> None:
        self._last_received_dd = (dd.flags, dd.options, dd.sequence)
        lsdb = self.interface.instance.lsdb
        for header in dd.headers:
            if header.type not in KNOWN_TYPES:
                self.seq_number_mismatch()
                return
            ours = lsdb.header(header.key)
            if ours is None or compare(header, ours) > 0:
                self.requests[header.key] = header
        # Whatever we sent last is now acknowledged (the master's by the reply, the slave's by the next).
        sent = self._last_sent_dd
        if sent is not None and not sent.init:
            del self._summary[: len(sent.headers)]
        if self.master:
            self.dd_sequence = (self.dd_sequence + 1) & 0xFFFFFFFF
            if sent is not None and not sent.more and not dd.more:
                self._exchange_done()
            else:
                self._send_next_dd()
        else:
            self.dd_sequence = dd.sequence
            reply = self._send_next_dd()
            if not dd.more and not reply.more:
                self._exchange_done()
        if self.state == NeighborState.EXCHANGE and self.requests and not self._outstanding_requests:
            self._send_requests()  # start loading while the exchange goes on (§10.9 allows it)

    def _send_next_dd(self) -> DatabaseDescription:
        room = (self.interface.mtu - IP_HEADER_LENGTH - HEADER_LENGTH - _DD_FIXED) // LSA_HEADER_LENGTH
        chunk = tuple(self._summary[:room])
        flags = (DD_FLAG_M if len(self._summary) > len(chunk) else 0) | (DD_FLAG_MS if self.master else 0)
        dd = DatabaseDescription(
            self.interface.mtu, self.interface.instance.options, flags, self.dd_sequence, chunk
        )
        self._send_dd(dd)
        return dd

    def _send_dd(self, dd: DatabaseDescription) -> None:
        self._last_sent_dd = dd
        self._transmit_dd()
        self._cancel(self._dd_timer)
        self._dd_timer = None
        if self.master:  # only the master retransmits; the slave just answers
            clock = self.interface.instance.clock
            self._dd_timer = clock.call_later(self.interface.config.retransmit_interval, self._retransmit_dd)

    def _transmit_dd(self) -> None:
        if self._last_sent_dd is not None:
            self.interface.send_to_neighbor(self._last_sent_dd, self)

    def _retransmit_dd(self) -> None:
        self._dd_timer = None
        if self.state in (NeighborState.EXSTART, NeighborState.EXCHANGE) and self._last_sent_dd is not None:
            self._send_dd(self._last_sent_dd)

    # ----- Link State Requests (§10.7, §10.9) ----------------------------------------------------

    def _send_requests(self) -> None:
        self._cancel(self._request_timer)
        self._request_timer = None
        if not self.requests or self.state not in (NeighborState.EXCHANGE, NeighborState.LOADING):
            return
        room = (self.interface.mtu - IP_HEADER_LENGTH - HEADER_LENGTH) // _REQUEST_SIZE
        keys = tuple(self.requests)[:room]
        self._outstanding_requests = set(keys)
        self.interface.send_to_neighbor(LinkStateRequest(keys), self)
        clock = self.interface.instance.clock
        self._request_timer = clock.call_later(self.interface.config.retransmit_interval, self._send_requests)

    def request_received(self, key: LsaKey, instance: LsaHeader) -> bool:
        """An LSA arrived that may satisfy a request; returns False if ``instance`` is older than asked."""
        wanted = self.requests.get(key)
        if wanted is None:
            return True
        if compare(instance, wanted) < 0:
            return False
        del self.requests[key]
        self._outstanding_requests.discard(key)
        return True

    def requests_progressed(self) -> None:
        """After an update from this neighbour: next request packet, or LoadingDone."""
        if self.state not in (NeighborState.EXCHANGE, NeighborState.LOADING) or self._outstanding_requests:
            return
        if self.requests:
            self._send_requests()
        elif self.state == NeighborState.LOADING:
            self._cancel(self._request_timer)
            self._request_timer = None
            self._loading_done()

    def receive_request(self, request: LinkStateRequest) -> DropReason | None:
        if self.state < NeighborState.EXCHANGE:
            return DropReason.NEIGHBOR_STATE
        lsdb = self.interface.instance.lsdb
        found: list[Lsa] = []
        for key in request.requests:
            lsa = lsdb.get(key)
            if lsa is None:
                self.bad_ls_req()
                return None
            found.append(lsa)
        self.interface.send_update(found, self)
        return None

    # ----- retransmission list (§13.6) -----------------------------------------------------------

    def add_retransmission(self, lsa: Lsa) -> None:
        self.retransmissions[lsa.key] = lsa
        self._arm_retransmit()

    def remove_retransmission(self, key: LsaKey) -> None:
        if self.retransmissions.pop(key, None) is not None and not self.retransmissions:
            self._cancel(self._retransmit_timer)
            self._retransmit_timer = None

    def acknowledge(self, headers: Iterable[LsaHeader]) -> None:
        """§13.7: an acknowledgment removes the same instance from the retransmission list."""
        for header in headers:
            listed = self.retransmissions.get(header.key)
            if listed is not None and compare(header, listed.header) == 0:
                self.remove_retransmission(header.key)
        self.interface.instance.retransmissions_changed()

    def _arm_retransmit(self) -> None:
        if self.retransmissions and self._retransmit_timer is None:
            clock = self.interface.instance.clock
            self._retransmit_timer = clock.call_later(
                self.interface.config.retransmit_interval, self._retransmit
            )

    def _retransmit(self) -> None:
        self._retransmit_timer = None
        if not self.retransmissions or self.state < NeighborState.EXCHANGE:
            return
        lsdb = self.interface.instance.lsdb
        current = []
        for key, listed in self.retransmissions.items():
            in_database = lsdb.get(key)
            same = in_database is not None and compare(in_database.header, listed.header) == 0
            current.append(in_database if same and in_database is not None else listed)
        self.interface.send_update(current, self)
        self._arm_retransmit()
