"""Reliable flooding (RFC 2328 §13): installing, acknowledging, retransmitting, answering old news."""

from __future__ import annotations

import pytest

from controller.ospf.constants import MAX_AGE
from controller.ospf.drops import DropReason
from controller.ospf.packets import LinkStateAck, LinkStateUpdate

from .scripted import Harness, Peer


def two_full_peers(**timers: float) -> tuple[Harness, Peer, Peer]:
    """Our instance Full with one peer on e1 and another on e2 (both point-to-point)."""
    harness = Harness(timers=timers)
    left = Peer(harness, "0.0.0.2", "10.0.1.2", "e1")
    right = Peer(harness, "0.0.0.3", "10.0.2.3", "e2")
    left.become_full_as_slave()
    right.become_full_as_slave()
    harness.clock.advance(10)
    left.acknowledge_updates()
    right.acknowledge_updates()
    harness.take()
    return harness, left, right


def acked_keys(sent) -> list:
    return [h.key for s in sent for h in s.body.headers]


def test_new_lsa_is_installed_flooded_onward_and_ack_is_delayed():
    harness, left, _right = two_full_peers()
    lsa = left.lsa(seq=-0x7FFFFFFF + 3)
    left.deliver(LinkStateUpdate((lsa,)))
    assert harness.ospf.lsdb.get(lsa.key).header.seq == lsa.header.seq
    onward = harness.take(LinkStateUpdate)
    assert [(s.interface, s.body.lsas[0].key) for s in onward] == [("e2", lsa.key)]
    assert onward[0].body.lsas[0].header.age == lsa.header.age + 1  # InfTransDelay
    assert harness.take(LinkStateAck) == []
    harness.clock.advance(1.1)
    (ack,) = harness.take(LinkStateAck)
    assert ack.interface == "e1" and acked_keys([ack]) == [lsa.key]


def test_duplicate_gets_a_direct_ack():
    harness, left, _ = two_full_peers()
    lsa = left.lsa(seq=-0x7FFFFFFF + 3)
    left.deliver(LinkStateUpdate((lsa,)))
    harness.clock.advance(2)
    harness.take()
    left.deliver(LinkStateUpdate((lsa,)))
    (ack,) = harness.take(LinkStateAck)
    assert acked_keys([ack]) == [lsa.key]


def test_retransmitted_every_rxmt_interval_until_acknowledged():
    harness, left, right = two_full_peers()
    lsa = left.lsa(seq=-0x7FFFFFFF + 3)
    left.deliver(LinkStateUpdate((lsa,)))
    harness.take()
    assert lsa.key in right.neighbor.retransmissions
    harness.clock.advance(5.1)
    (again,) = harness.take(LinkStateUpdate)
    assert again.interface == "e2" and again.body.lsas[0].key == lsa.key
    # An ack for a different instance does not count.
    right.deliver(LinkStateAck((left.lsa(seq=-0x7FFFFFFF + 2).header,)))
    assert lsa.key in right.neighbor.retransmissions
    right.deliver(LinkStateAck((lsa.header,)))
    assert lsa.key not in right.neighbor.retransmissions
    harness.clock.advance(20)
    assert [s for s in harness.take(LinkStateUpdate) if s.body.lsas[0].key == lsa.key] == []


def test_same_instance_from_a_neighbour_we_flooded_to_is_an_implied_ack():
    harness, left, right = two_full_peers()
    lsa = left.lsa(seq=-0x7FFFFFFF + 3)
    left.deliver(LinkStateUpdate((lsa,)))
    harness.take()
    right.deliver(LinkStateUpdate((lsa,)))
    assert lsa.key not in right.neighbor.retransmissions
    assert [s for s in harness.take(LinkStateAck) if s.interface == "e2"] == []  # no direct ack


def test_older_instance_is_answered_with_ours():
    harness, left, right = two_full_peers()
    newer = left.lsa(seq=-0x7FFFFFFF + 5)
    left.deliver(LinkStateUpdate((newer,)))
    harness.clock.advance(2)
    harness.take()
    right.deliver(LinkStateUpdate((left.lsa(seq=-0x7FFFFFFF + 2),)))
    (reply,) = harness.take(LinkStateUpdate)
    assert reply.interface == "e2" and reply.body.lsas[0].header.seq == newer.header.seq
    assert harness.ospf.lsdb.get(newer.key).header.seq == newer.header.seq


def test_max_age_lsa_we_never_had_is_acknowledged_not_installed():
    harness, left, _ = two_full_peers()
    stale = left.lsa(seq=-0x7FFFFFFF + 3, stub="192.168.77.0").with_age(MAX_AGE)
    left.deliver(LinkStateUpdate((stale,)))
    # 0.0.0.2's router-LSA is not in our database yet (the peer had none), so this is the step-4 case.
    assert harness.ospf.lsdb.get(stale.key) is None
    (ack,) = harness.take(LinkStateAck)
    assert acked_keys([ack]) == [stale.key]


def test_newer_instance_within_min_ls_arrival_is_dropped_unacknowledged():
    harness, left, _ = two_full_peers()
    left.deliver(LinkStateUpdate((left.lsa(seq=-0x7FFFFFFF + 3),)))
    harness.clock.advance(0.5)
    harness.take()
    left.deliver(LinkStateUpdate((left.lsa(seq=-0x7FFFFFFF + 4),)))
    assert harness.ospf.lsdb.get(left.lsa().key).header.seq == -0x7FFFFFFF + 3
    assert harness.ospf.drops[DropReason.LSA_TOO_RECENT] == 1
    harness.clock.advance(0.6)
    left.deliver(LinkStateUpdate((left.lsa(seq=-0x7FFFFFFF + 4),)))
    assert harness.ospf.lsdb.get(left.lsa().key).header.seq == -0x7FFFFFFF + 4


def test_min_ls_arrival_is_a_setting():
    harness, left, _ = two_full_peers(min_ls_arrival=0.1)
    left.deliver(LinkStateUpdate((left.lsa(seq=-0x7FFFFFFF + 3),)))
    harness.clock.advance(0.05)
    left.deliver(LinkStateUpdate((left.lsa(seq=-0x7FFFFFFF + 4),)))
    assert harness.ospf.lsdb.get(left.lsa().key).header.seq == -0x7FFFFFFF + 3
    harness.clock.advance(0.06)
    left.deliver(LinkStateUpdate((left.lsa(seq=-0x7FFFFFFF + 5),)))
    assert harness.ospf.lsdb.get(left.lsa().key).header.seq == -0x7FFFFFFF + 5
    assert harness.ospf.drops[DropReason.LSA_TOO_RECENT] == 1


@pytest.mark.parametrize(("min_ls_interval", "delay"), [(5.0, 5.0), (0.2, 0.2)])
def test_a_dead_neighbour_is_reported_once_min_ls_interval_has_passed(min_ls_interval, delay):
    """The router-LSA that drops a dead neighbour waits for MinLSInterval after the last one
    (RFC 2328 §12.4): 5 s by default, the setting's seconds when shorter."""
    harness, left, right = two_full_peers(min_ls_interval=min_ls_interval)
    last = harness.our_lsa()
    left.neighbor.kill("InactivityTimer")
    assert harness.our_lsa().header.seq == last.header.seq
    harness.clock.advance(0.01)
    # two_full_peers ran the clock 10 s past the last origination: nothing holds this one back.
    assert harness.our_lsa().header.seq == last.header.seq + 1
    assert left.router_id not in {link.link_id for link in harness.our_lsa().body.links}
    right.neighbor.kill("InactivityTimer")  # a second change straight after the first
    harness.clock.advance(delay - 0.02)
    assert harness.our_lsa().header.seq == last.header.seq + 1
    harness.clock.advance(0.03)
    assert harness.our_lsa().header.seq == last.header.seq + 2


def test_a_newer_copy_of_our_own_lsa_makes_us_jump_past_it():
    harness, left, _right = two_full_peers()
    ours = harness.our_lsa()
    # What a neighbour might still hold from before a restart: our LSA, far ahead in sequence.
    ghost = ours.__class__.build(
        1, ours.header.ls_id, ours.header.adv_router, ours.header.seq + 50, 0x02, ours.body
    )
    left.deliver(LinkStateUpdate((ghost,)))
    harness.clock.advance(6)  # MinLSInterval since our last origination at most
    assert harness.our_lsa().header.seq == ghost.header.seq + 1
    flooded = [s for s in harness.take(LinkStateUpdate) if s.body.lsas[0].key == ours.key]
    assert {s.interface for s in flooded} == {"e1", "e2"}


def test_updates_from_neighbours_not_yet_exchanging_are_ignored():
    harness = Harness()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello(sees_us=False)
    peer.deliver(LinkStateUpdate((peer.lsa(),)))
    assert harness.ospf.lsdb.get(peer.lsa().key) is None
    assert harness.ospf.drops[DropReason.NEIGHBOR_STATE] == 1
