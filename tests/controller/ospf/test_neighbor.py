"""The neighbour state machine (RFC 2328 §10.3) and the Database Description exchange (§10.6, §10.8)."""

from __future__ import annotations

from controller.ospf.config import NetworkType
from controller.ospf.constants import DD_FLAG_I, DD_FLAG_M, DD_FLAG_MS, LsaType
from controller.ospf.drops import DropReason
from controller.ospf.interface import InterfaceState
from controller.ospf.lsa import LsaKey
from controller.ospf.neighbor import NeighborState
from controller.ospf.packets import DatabaseDescription, LinkStateRequest, LinkStateUpdate

from .scripted import A, Harness, Peer

INIT_FLAGS = DD_FLAG_I | DD_FLAG_M | DD_FLAG_MS


def test_hello_without_us_is_init_with_us_starts_exchange_on_p2p():
    harness = Harness()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello(sees_us=False)
    assert peer.neighbor is not None and peer.neighbor.state == NeighborState.INIT
    assert harness.take(DatabaseDescription) == []
    peer.hello()
    assert peer.neighbor.state == NeighborState.EXSTART
    (dd,) = harness.take(DatabaseDescription)
    assert dd.body.flags == INIT_FLAGS and dd.body.headers == ()
    assert dd.destination == A("224.0.0.5")  # point-to-point: always AllSPFRouters (§8.1)


def test_our_hellos_list_the_neighbour_once_heard():
    harness = Harness()
    harness.take()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello(sees_us=False)
    harness.clock.advance(10)
    hellos = [s.body for s in harness.take(interface="e1") if s.body.__class__.__name__ == "Hello"]
    assert hellos and hellos[-1].neighbors == (A("0.0.0.2"),)


def test_one_way_hello_drops_back_to_init():
    harness = Harness()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello()
    assert peer.neighbor.state == NeighborState.EXSTART
    peer.hello(sees_us=False)
    assert peer.neighbor.state == NeighborState.INIT


def test_inactivity_timer_kills_the_neighbour():
    harness = Harness(hello_interval=1, dead_interval=3)
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello(sees_us=False)
    harness.clock.advance(2.9)
    peer.hello(sees_us=False)  # restarts the timer
    harness.clock.advance(2.9)
    assert peer.neighbor is not None
    harness.clock.advance(0.2)
    assert peer.neighbor is None  # Down, and forgotten


def test_we_are_slave_to_a_higher_router_id():
    harness = Harness()
    peer = Peer(harness, "9.9.9.9", "10.0.1.2")
    peer.hello()
    harness.take()
    peer.dd(INIT_FLAGS, 5000)
    assert peer.neighbor.state == NeighborState.EXCHANGE and not peer.neighbor.master
    (reply,) = harness.take(DatabaseDescription)
    assert reply.body.sequence == 5000 and not reply.body.master and not reply.body.init
    assert [h.key for h in reply.body.headers] == [harness.our_lsa().key]
    assert not reply.body.more
    # The master's last (empty, M clear) packet ends the exchange; nothing to request: Full.
    peer.dd(DD_FLAG_MS, 5001)
    assert peer.neighbor.state == NeighborState.FULL
    (last,) = harness.take(DatabaseDescription)
    assert last.body.sequence == 5001 and last.body.headers == ()


def test_slave_repeats_itself_on_a_duplicate_and_never_retransmits_on_its_own():
    harness = Harness()
    peer = Peer(harness, "9.9.9.9", "10.0.1.2")
    peer.hello()
    harness.take()
    peer.dd(INIT_FLAGS, 5000)
    (first,) = harness.take(DatabaseDescription)
    harness.clock.advance(30)
    assert harness.take(DatabaseDescription) == []
    peer.dd(INIT_FLAGS, 5000)  # the master did not hear us and repeats
    (again,) = harness.take(DatabaseDescription)
    assert again.body == first.body
    assert harness.ospf.drops[DropReason.DD_DUPLICATE] == 1


def test_we_are_master_of_a_lower_router_id():
    harness = Harness()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello()
    (init,) = harness.take(DatabaseDescription)
    # The peer's own I/M/MS claim loses (lower id): ignored.
    peer.dd(INIT_FLAGS, 77)
    assert peer.neighbor.state == NeighborState.EXSTART
    assert harness.ospf.drops[DropReason.DD_IGNORED] == 1
    peer.dd(0, init.body.sequence)
    assert peer.neighbor.state == NeighborState.EXCHANGE and peer.neighbor.master
    (next_dd,) = harness.take(DatabaseDescription)
    assert next_dd.body.sequence == init.body.sequence + 1 and next_dd.body.master
    assert [h.key for h in next_dd.body.headers] == [harness.our_lsa().key]


def test_master_retransmits_until_answered():
    harness = Harness(retransmit_interval=5)
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello()
    (init,) = harness.take(DatabaseDescription)
    harness.clock.advance(4.9)
    assert harness.take(DatabaseDescription) == []
    harness.clock.advance(0.2)
    (again,) = harness.take(DatabaseDescription)
    assert again.body == init.body
    harness.clock.advance(5)
    assert len(harness.take(DatabaseDescription)) == 1


def test_wrong_sequence_number_restarts_the_exchange():
    harness = Harness()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello()
    (init,) = harness.take(DatabaseDescription)
    peer.dd(0, init.body.sequence)
    harness.take()
    peer.dd(0, init.body.sequence + 5)  # not the expected sequence number: SeqNumberMismatch
    assert peer.neighbor.state == NeighborState.EXSTART
    (restart,) = harness.take(DatabaseDescription)
    assert restart.body.flags == INIT_FLAGS and restart.body.sequence == init.body.sequence + 2
    assert "SeqNumberMismatch" in peer.neighbor.events[-1]


def test_ms_bit_or_init_bit_or_options_change_in_exchange_is_a_mismatch():
    for flags, options in ((DD_FLAG_MS, 0x02), (DD_FLAG_I, 0x02), (0, 0x42)):
        harness = Harness()
        peer = Peer(harness, "0.0.0.2", "10.0.1.2")
        peer.hello()
        (init,) = harness.take(DatabaseDescription)
        peer.dd(0, init.body.sequence)
        peer.deliver(DatabaseDescription(1500, options, flags, init.body.sequence + 1))
        assert peer.neighbor.state == NeighborState.EXSTART, (flags, options)


def test_mtu_larger_than_ours_is_refused_unless_ignored():
    harness = Harness()
    peer = Peer(harness, "9.9.9.9", "10.0.1.2")
    peer.hello()
    peer.deliver(DatabaseDescription(9000, 0x02, INIT_FLAGS, 1))
    assert peer.neighbor.state == NeighborState.EXSTART
    assert harness.ospf.drops[DropReason.MTU_MISMATCH] == 1
    harness = Harness(mtu_ignore=True)
    peer = Peer(harness, "9.9.9.9", "10.0.1.2")
    peer.hello()
    peer.deliver(DatabaseDescription(9000, 0x02, INIT_FLAGS, 1))
    assert peer.neighbor.state == NeighborState.EXCHANGE


def test_loading_requests_what_the_neighbour_has_and_goes_full():
    harness = Harness()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    theirs = peer.lsa(seq=-0x7FFFFFFF + 4)
    peer.become_full_as_slave([theirs.header])
    assert peer.neighbor.state == NeighborState.LOADING
    (request,) = harness.take(LinkStateRequest)
    assert request.body.requests == (theirs.key,)
    harness.clock.advance(5.1)  # unanswered requests are repeated every RxmtInterval
    assert [s.body for s in harness.take(LinkStateRequest)] == [request.body]
    peer.deliver(LinkStateUpdate((theirs,)))
    assert peer.neighbor.state == NeighborState.FULL
    assert harness.ospf.lsdb.get(theirs.key).header.seq == theirs.header.seq
    harness.clock.advance(6)  # MinLSInterval after the first origination
    links = harness.our_lsa().body.links
    assert any(link.link_id == A("0.0.0.2") for link in links)


def test_request_for_something_we_do_not_have_is_bad_ls_req():
    harness = Harness()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.become_full_as_slave()
    assert peer.neighbor.state == NeighborState.FULL
    harness.take()
    peer.deliver(LinkStateRequest((harness.our_lsa().key,)))
    (update,) = harness.take(LinkStateUpdate)
    assert update.body.lsas[0].key == harness.our_lsa().key
    peer.deliver(LinkStateRequest((LsaKey(LsaType.ROUTER, A("7.7.7.7"), A("7.7.7.7")),)))
    assert peer.neighbor.state == NeighborState.EXSTART
    assert "BadLSReq" in peer.neighbor.events[-1]


def test_interface_down_kills_neighbours():
    harness = Harness()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.become_full_as_slave()
    harness.ospf.interface_down("e1")
    assert peer.neighbor is None
    assert harness.ospf.interfaces["e1"].state == InterfaceState.DOWN
    peer.hello()
    assert harness.ospf.drops[DropReason.INTERFACE_DOWN] == 1


def test_broadcast_drother_stays_two_way_with_another_drother():
    harness = Harness(NetworkType.BROADCAST)
    dr = Peer(harness, "9.9.9.9", "10.0.1.9")
    bdr = Peer(harness, "8.8.8.8", "10.0.1.8")
    other = Peer(harness, "0.0.0.5", "10.0.1.5")
    for peer in (dr, bdr, other):
        peer.hello(dr="10.0.1.9", bdr="10.0.1.8")
    harness.clock.advance(0.01)
    interface = harness.ospf.interfaces["e1"]
    assert interface.state == InterfaceState.DR_OTHER  # BackupSeen ended the wait
    assert (interface.dr, interface.bdr) == (A("10.0.1.9"), A("10.0.1.8"))
    assert other.neighbor.state == NeighborState.TWO_WAY
    assert dr.neighbor.state == NeighborState.EXSTART and bdr.neighbor.state == NeighborState.EXSTART
    # The DR leaves (its hellos stop listing us): AdjOK? makes us adjacent to whoever is elected.
    dr.hello(sees_us=False, dr="10.0.1.9", bdr="10.0.1.8")
    assert dr.neighbor.state == NeighborState.INIT


def test_waiting_interface_elects_after_the_wait_timer():
    harness = Harness(NetworkType.BROADCAST, hello_interval=1, dead_interval=4)
    interface = harness.ospf.interfaces["e1"]
    assert interface.state == InterfaceState.WAITING
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello()
    harness.clock.advance(3.9)
    peer.hello()
    assert interface.state == InterfaceState.WAITING
    harness.clock.advance(0.2)
    assert interface.state == InterfaceState.DR  # higher router id than 0.0.0.2
    assert interface.bdr == A("10.0.1.2")
    assert peer.neighbor.state == NeighborState.EXSTART
