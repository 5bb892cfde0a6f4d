"""Malformed, truncated, misaddressed or mismatched OSPF packets are counted by reason and ignored."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.ospf.config import NetworkType
from controller.ospf.drops import DropReason
from controller.ospf.neighbor import NeighborState
from controller.ospf.packets import DatabaseDescription, Hello, LinkStateAck, LinkStateUpdate, Packet

from .scripted import A, Harness, Peer


def hello(mask="255.255.255.0", hello_interval=10, dead_interval=40, options=0x02) -> Hello:
    return Hello(A(mask), hello_interval, options, 1, dead_interval, A("0.0.0.0"), A("0.0.0.0"), ())


def test_each_reason_is_counted_and_nothing_changes():
    harness = Harness(NetworkType.BROADCAST)
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    cases = [
        (lambda: peer.deliver(hello(mask="255.255.0.0")), DropReason.HELLO_MASK_MISMATCH),
        (lambda: peer.deliver(hello(hello_interval=5)), DropReason.HELLO_INTERVAL_MISMATCH),
        (lambda: peer.deliver(hello(dead_interval=30)), DropReason.DEAD_INTERVAL_MISMATCH),
        (lambda: peer.deliver(hello(options=0x00)), DropReason.OPTIONS_MISMATCH),
        (lambda: peer.deliver(hello(), area="0.0.0.1"), DropReason.BAD_AREA),
        (lambda: peer.deliver(hello(), destination=A("224.0.0.6")), DropReason.WRONG_DESTINATION),
        (lambda: peer.deliver(LinkStateAck(())), DropReason.UNKNOWN_NEIGHBOR),
        (lambda: Peer(harness, "1.1.1.1", "10.0.1.7").deliver(hello()), DropReason.OWN_PACKET),
        (lambda: Peer(harness, "0.0.0.3", "172.16.0.1").deliver(hello()), DropReason.SOURCE_NOT_ON_SUBNET),
        (
            lambda: harness.ospf.receive("eth9", A("10.0.1.2"), A("224.0.0.5"), b""),
            DropReason.UNKNOWN_INTERFACE,
        ),
        (
            lambda: harness.ospf.receive("e1", A("10.0.1.2"), A("224.0.0.5"), b"\x02\x01"),
            DropReason.TRUNCATED,
        ),
    ]
    for send, reason in cases:
        before = harness.ospf.drops[reason]
        send()
        assert harness.ospf.drops[reason] == before + 1, reason
    assert harness.ospf.interfaces["e1"].neighbors == {}


def test_passive_interface_ignores_ospf():
    harness = Harness(passive=True)
    Peer(harness, "0.0.0.2", "10.0.1.2").hello()
    assert harness.ospf.drops[DropReason.PASSIVE_INTERFACE] == 1
    assert harness.ospf.interfaces["e1"].neighbors == {}
    assert [s for s in harness.sent if isinstance(s.body, Hello)] == []


def established() -> tuple[Harness, Peer]:
    harness = Harness()
    peer = Peer(harness, "0.0.0.2", "10.0.1.2")
    peer.become_full_as_slave()
    return harness, peer


def valid_packets(peer: Peer) -> list[bytes]:
    lsa = peer.lsa(seq=-0x7FFFFFFF + 9)
    bodies = [
        hello(),
        DatabaseDescription(1500, 0x02, 0x07, 12345, (lsa.header,)),
        LinkStateUpdate((lsa,)),
        LinkStateAck((lsa.header,)),
    ]
    return [Packet(peer.router_id, A("0.0.0.0"), body).encode() for body in bodies]


def accounted(harness: Harness) -> int:
    """Packets dropped (by any reason) plus packets accepted: every packet must land in one."""
    return sum(harness.ospf.drops.values()) + sum(harness.ospf.received.values())


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_never_crash_and_are_accounted_for(data):
    harness, peer = established()
    before = accounted(harness)
    harness.ospf.receive("e1", peer.address, A("224.0.0.5"), data)
    assert accounted(harness) >= before + 1
    harness.clock.advance(30)


@settings(max_examples=300, deadline=None)
@given(
    which=st.integers(0, 3),
    flips=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 255)), min_size=1, max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 120)),
)
def test_mutated_packets_never_crash_and_are_accounted_for(which, flips, cut):
    harness, peer = established()
    packet = bytearray(valid_packets(peer)[which])
    for position, xor in flips:
        packet[position % len(packet)] ^= xor
    if cut is not None:
        packet = packet[:cut]
    before = accounted(harness)
    harness.ospf.receive("e1", peer.address, A("224.0.0.5"), bytes(packet))
    assert accounted(harness) >= before + 1
    harness.clock.advance(30)  # whatever state it left behind, the timers run cleanly


def test_corrupted_packet_is_a_checksum_drop():
    harness, peer = established()
    for index, packet in enumerate(valid_packets(peer)):
        broken = bytearray(packet)
        broken[-1] ^= 0x10
        harness.ospf.receive("e1", peer.address, A("224.0.0.5"), bytes(broken))
        assert harness.ospf.drops[DropReason.BAD_CHECKSUM] == index + 1
    assert peer.neighbor.state == NeighborState.FULL
