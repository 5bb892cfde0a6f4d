"""LSA aging (RFC 2328 §14), refresh at LSRefreshTime, MaxAge flushing, premature aging."""

from __future__ import annotations

from controller.ospf.config import NetworkType
from controller.ospf.constants import LS_REFRESH_TIME, MAX_AGE, LsaType
from controller.ospf.lsa import LsaKey
from controller.ospf.neighbor import NeighborState
from controller.ospf.packets import LinkStateAck, LinkStateUpdate

from .scripted import A, Harness, Peer
from .test_flooding import two_full_peers


def keep_alive(harness: Harness, peers: list[Peer], seconds: float) -> None:
    """Lets time pass with the peers saying hello and acknowledging everything, as live neighbours do."""
    end = harness.clock.now() + seconds
    while harness.clock.now() < end:
        harness.clock.advance(min(10.0, end - harness.clock.now()))
        for peer in peers:
            peer.hello()
            peer.acknowledge_updates()


def test_age_grows_with_the_clock_and_is_capped():
    harness, left, _right = two_full_peers()
    lsa = left.lsa(seq=-0x7FFFFFFF + 3, age=100)
    left.deliver(LinkStateUpdate((lsa,)))
    harness.clock.advance(50)
    assert harness.ospf.lsdb.get(lsa.key).header.age == 150


def test_own_lsa_is_refreshed_every_ls_refresh_time():
    harness, left, right = two_full_peers()
    before = harness.our_lsa()
    keep_alive(harness, [left, right], LS_REFRESH_TIME - 40)
    assert harness.our_lsa().header.seq == before.header.seq
    refreshed = []
    end = harness.clock.now() + 60
    while harness.clock.now() < end:
        harness.clock.advance(1)
        refreshed += [s for s in harness.sent if isinstance(s.body, LinkStateUpdate)]
        for peer in (left, right):
            peer.hello()
            peer.acknowledge_updates()
    after = harness.our_lsa()
    assert after.header.seq == before.header.seq + 1 and after.body == before.body
    assert after.header.age < 60
    assert {s.interface for s in refreshed if s.body.lsas[0].key == before.key} == {"e1", "e2"}


def test_unrefreshed_lsa_reaches_max_age_is_flooded_and_removed_once_acknowledged():
    harness, left, right = two_full_peers()
    lsa = left.lsa(seq=-0x7FFFFFFF + 3, stub="192.168.50.0")
    left.deliver(LinkStateUpdate((lsa,)))
    keep_alive(harness, [left, right], 20)
    assert any(str(p) == "192.168.50.0/24" for p in harness.rib)
    # The peer keeps its adjacency up but never refreshes this LSA (as if it forgot it).
    end = harness.clock.now() + MAX_AGE
    flushed = []
    while harness.clock.now() < end:
        harness.clock.advance(min(10.0, end - harness.clock.now()))
        for peer in (left, right):
            peer.hello()
        updates = harness.take(LinkStateUpdate)
        flushed += [s for s in updates for x in s.body.lsas if x.key == lsa.key and x.header.age >= MAX_AGE]
        for peer in (left, right):
            headers = [x.header for s in updates if s.interface == peer.interface for x in s.body.lsas]
            if headers:
                peer.deliver(LinkStateAck(tuple(headers)))
    harness.clock.advance(2)
    assert {s.interface for s in flushed} == {"e1", "e2"}
    assert harness.ospf.lsdb.get(lsa.key) is None
    assert not any(str(p) == "192.168.50.0/24" for p in harness.rib)


def test_max_age_lsa_waits_for_every_acknowledgment():
    harness, left, right = two_full_peers()
    lsa = left.lsa(seq=-0x7FFFFFFF + 3)
    left.deliver(LinkStateUpdate((lsa,)))
    keep_alive(harness, [left, right], 10)
    left.deliver(LinkStateUpdate((lsa.with_age(MAX_AGE),)))  # the originator flushes it
    harness.clock.advance(3)
    # Flooded on to the right, which has not acknowledged: still held.
    assert harness.ospf.lsdb.get(lsa.key) is not None
    assert harness.ospf.lsdb.get(lsa.key).header.age == MAX_AGE
    right.acknowledge_updates()
    harness.clock.advance(1.5)
    assert harness.ospf.lsdb.get(lsa.key) is None


def test_dr_flushes_its_network_lsa_when_its_last_neighbour_goes():
    harness = Harness(NetworkType.BROADCAST, hello_interval=1, dead_interval=4)
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.hello()
    harness.clock.advance(4.1)  # the wait timer: we (1.1.1.1) become DR, the peer BDR
    assert harness.ospf.interfaces["e1"].dr == A("10.0.1.1")
    peer.hello(dr="10.0.1.1", bdr="10.0.1.2")
    peer.become_full_as_slave()
    for _ in range(6):
        harness.clock.advance(1)
        peer.hello(dr="10.0.1.1", bdr="10.0.1.2")
    network_key = LsaKey(LsaType.NETWORK, A("10.0.1.1"), A("1.1.1.1"))
    network = harness.ospf.lsdb.get(network_key)
    assert network is not None and network.body.attached == (A("1.1.1.1"), A("0.0.0.2"))
    assert peer.neighbor.state == NeighborState.FULL
    harness.clock.advance(5)  # no more hellos: the peer dies, and with it the reason for the network-LSA
    assert peer.neighbor is None
    assert harness.ospf.lsdb.get(network_key) is None
    assert all(link.type == 3 for link in harness.our_lsa().body.links)
