"""Reliable flooding (RFC 2328 §13): receiving updates and acks, flooding out, choosing acks.

Functions over the instance, because flooding spans every interface and
neighbour. ``receive_update`` follows §13's numbered steps; the step
numbers are in the comments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.ospf.constants import MAX_AGE, MAX_SEQUENCE_NUMBER
from controller.ospf.drops import DropReason
from controller.ospf.interface import Interface, InterfaceState
from controller.ospf.lsa import Lsa, LsaHeader, compare
from controller.ospf.neighbor import Neighbor, NeighborState
from controller.ospf.packets import LinkStateAck, LinkStateUpdate

if TYPE_CHECKING:
    from controller.ospf.instance import OspfInstance


def receive_update(instance: OspfInstance, neighbor: Neighbor, update: LinkStateUpdate) -> None:
    interface = neighbor.interface
    if neighbor.state < NeighborState.EXCHANGE:
        instance.count(DropReason.NEIGHBOR_STATE)
        return
    for reason in update.rejected:  # steps 1-2: bad checksum, unknown type (dropped while decoding)
        instance.count(reason)
    direct_acks: list[LsaHeader] = []
    for lsa in update.lsas:
        if not _receive_one(instance, interface, neighbor, lsa, direct_acks):
            break  # BadLSReq: stop processing the packet
    if direct_acks and neighbor.state >= NeighborState.EXCHANGE:
        interface.send_direct_ack(direct_acks, neighbor)
    neighbor.requests_progressed()


def _receive_one(
    instance: OspfInstance, interface: Interface, neighbor: Neighbor, lsa: Lsa, direct_acks: list[LsaHeader]
) -> bool:
    lsdb = instance.lsdb
    header = lsa.header
    current = lsdb.get(lsa.key)
    # Step 4: a MaxAge LSA we do not have, with nobody mid-exchange: just acknowledge it.
    if header.age >= MAX_AGE and current is None and not instance.exchanging():
        direct_acks.append(header)
        return True
    # Step 5: new, or newer than ours.
    if current is None or compare(header, current.header) > 0:
        entry = lsdb.entry(lsa.key)
        arrival = instance.config.min_ls_arrival
        too_soon = entry is not None and instance.clock.now() - entry.installed_at < arrival
        if too_soon and entry is not None and not entry.self_originated:
            instance.count(DropReason.LSA_TOO_RECENT)  # (a) too soon after the last one
            return True
        # (c) before (b): the old copy leaves the retransmission lists before the new one joins them.
        instance.remove_from_retransmissions(lsa.key)  # (c)
        flooded_back = flood(instance, lsa, interface, neighbor)  # (b)
        instance.install(lsa)  # (d)
        backup = interface.state == InterfaceState.BACKUP
        if not flooded_back and (not backup or neighbor.address == interface.dr):  # (e) Table 19
            interface.delay_ack(header)
        if instance.is_self_originated(lsa):  # (f) §13.4
            instance.received_self_originated(lsa)
        return True
    # Step 6: older or the same as ours, yet we asked for it: the exchange went wrong.
    if lsa.key in neighbor.requests:
        neighbor.bad_ls_req()
        return False
    order = compare(header, current.header)
    # Step 7: the same instance.
    if order == 0:
        if lsa.key in neighbor.retransmissions:  # (a) an implied acknowledgment
            neighbor.remove_retransmission(lsa.key)
            instance.retransmissions_changed()
            if interface.state == InterfaceState.BACKUP and neighbor.address == interface.dr:
                interface.delay_ack(header)
        else:  # (b)
            direct_acks.append(header)
        return True
    # Step 8: ours is newer; send it back (unless it is being flushed at the top of the sequence space).
    if current.header.age >= MAX_AGE and current.header.seq == MAX_SEQUENCE_NUMBER:
        return True
    entry = lsdb.entry(lsa.key)
    if entry is not None and instance.clock.now() - entry.sent_back_at >= instance.config.min_ls_arrival:
        entry.sent_back_at = instance.clock.now()
        interface.send_update([current], neighbor)
    return True


def flood(instance: OspfInstance, lsa: Lsa, received_on: Interface | None, sender: Neighbor | None) -> bool:
    """§13.3: floods ``lsa`` out of every interface where a neighbour needs it.

    Returns whether it went back out of ``received_on``.
    """
    flooded_back = False
    for interface in instance.interfaces.values():
        if not interface.active:
            continue
        added = False
        for neighbor in list(interface.neighbors.values()):
            if neighbor.state < NeighborState.EXCHANGE:  # (a)
                continue
            if (
                neighbor.state in (NeighborState.EXCHANGE, NeighborState.LOADING)
                and lsa.key in neighbor.requests
            ):
                requested = neighbor.requests[lsa.key]
                order = compare(lsa.header, requested)
                if order < 0:  # (b) it asked for a newer one
                    continue
                neighbor.request_received(lsa.key, lsa.header)
                neighbor.requests_progressed()
                if order == 0:
                    continue
            if neighbor is sender:  # (c)
                continue
            neighbor.add_retransmission(lsa)  # (d)
            added = True
        if not added:
            continue
        if interface is received_on and sender is not None:
            if interface.broadcast and sender.address in (interface.dr, interface.bdr):
                continue  # the DR has flooded it on this network already
            if interface.state == InterfaceState.BACKUP:
                continue  # the DR will
        interface.flood([lsa])
        if interface is received_on:
            flooded_back = True
    return flooded_back


def receive_ack(instance: OspfInstance, neighbor: Neighbor, ack: LinkStateAck) -> None:
    if neighbor.state < NeighborState.EXCHANGE:
        instance.count(DropReason.NEIGHBOR_STATE)
        return
    neighbor.acknowledge(ack.headers)
