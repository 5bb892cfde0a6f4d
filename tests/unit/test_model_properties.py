"""Property test: random tables and random frames (valid and malformed) through the model.

The model's answer is checked against DESIGN.md §1 restated here as a list of
rules, written without the model's code: addresses are classified with
``ipaddress``, checksums verified with scapy's implementation, the route found
by brute force over the whole table, and the forwarded frame rebuilt from
scratch. On top, the invariants every data plane must keep: exactly one
outcome, a forwarded frame differs from the input only in its MACs, TTL and
checksum (and that checksum equals a full recomputation), and the counters
add up (rx = tx to front ports + punts + drops, in packets and bytes).
"""

from __future__ import annotations

import copy
import struct
from ipaddress import IPv4Address, IPv4Network

from hypothesis import HealthCheck, event, given, settings
from scapy.utils import checksum as scapy_checksum

from sim.model import (
    CPU_PORT,
    Counters,
    Drop,
    DropReason,
    Forward,
    Outcome,
    Punt,
    PuntReason,
    ReferencePipeline,
)
from sim.model.tables import Direct, NextHop, NullRoute, TableState
from sim.vectors.strategies import FrameCase, scenarios

ETH = 14
BROADCAST = b"\xff" * 6
MARTIAN_SOURCE_BLOCKS = [
    IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32")
]
LINK_LOCAL_MULTICAST = IPv4Network("224.0.0.0/24")


def is_ipv4_multicast_mac(mac: bytes) -> bool:
    return mac[:3] == b"\x01\x00\x5e" and mac[3] < 0x80


def header_checksum_verifies(header: bytes) -> bool:
    return scapy_checksum(header) == 0


def full_checksum(header: bytes) -> int:
    return scapy_checksum(header[:10] + b"\0\0" + header[12:])


def longest_match(tables: TableState, dst: IPv4Address) -> IPv4Network | None:
    matching = [prefix for prefix in tables.routes if dst in prefix]
    return max(matching, key=lambda p: p.prefixlen, default=None)


def label(outcome: Outcome) -> str:
    if isinstance(outcome, Forward):
        return f"forward:{outcome.port}"
    return f"{'punt' if isinstance(outcome, Punt) else 'drop'}:{outcome.reason.name}"


def expected_label(tables: TableState, port: int, frame: bytes) -> str:
    """DESIGN.md §1, one rule after another."""
    if port == CPU_PORT:
        if len(frame) < 2:
            return "drop:TRUNCATED"
        out = struct.unpack("!H", frame[:2])[0]
        return f"forward:{out}" if out in range(1, tables.num_ports + 1) else "drop:BAD_PACKET_OUT_PORT"
    if len(frame) < ETH:
        return "drop:TRUNCATED"
    (ethertype,) = struct.unpack("!H", frame[12:14])
    is_arp, is_ipv4 = ethertype == 0x0806, ethertype == 0x0800
    if is_arp and len(frame) < ETH + 28:
        return "drop:TRUNCATED"
    if is_ipv4 and (len(frame) < ETH + 20 or len(frame) < ETH + 4 * (frame[ETH] & 0xF)):
        return "drop:TRUNCATED"
    dst_mac = frame[:6]
    router_mac = tables.router_mac(port)
    ours = router_mac is not None and dst_mac == router_mac.packed
    if not (ours or dst_mac == BROADCAST or is_ipv4_multicast_mac(dst_mac)):
        return "drop:NOT_FOR_US"
    if not (is_arp or is_ipv4):
        return "drop:UNSUPPORTED_ETHERTYPE"
    if is_arp:
        if frame[ETH : ETH + 6] != bytes.fromhex("000108000604"):
            return "drop:UNSUPPORTED_ETHERTYPE"
        return "drop:NOT_ROUTABLE_L2" if is_ipv4_multicast_mac(dst_mac) else "punt:ARP"
    version, ihl = frame[ETH] >> 4, frame[ETH] & 0xF
    if version != 4:
        return "drop:IPV4_VERSION"
    if ihl < 5:
        return "drop:IPV4_IHL"
    (total_length,) = struct.unpack("!H", frame[ETH + 2 : ETH + 4])
    if not 4 * ihl <= total_length <= len(frame) - ETH:
        return "drop:IPV4_LENGTH"
    if not header_checksum_verifies(frame[ETH : ETH + 4 * ihl]):
        return "drop:IPV4_CHECKSUM"
    src, dst = IPv4Address(frame[ETH + 12 : ETH + 16]), IPv4Address(frame[ETH + 16 : ETH + 20])
    if any(src in block for block in MARTIAN_SOURCE_BLOCKS):
        return "drop:MARTIAN_SOURCE"
    if dst in tables.local_ips or dst == IPv4Address("255.255.255.255") or dst in LINK_LOCAL_MULTICAST:
        return "punt:LOCAL"
    if dst.is_multicast:
        return "drop:MULTICAST_DESTINATION"
    if not ours:
        return "drop:NOT_ROUTABLE_L2"
    if frame[ETH + 8] <= 1:
        return "punt:TTL_EXPIRED"
    prefix = longest_match(tables, dst)
    if prefix is None:
        return "punt:NO_ROUTE"
    action = tables.routes[prefix]
    if isinstance(action, NullRoute):
        return "drop:NULL_ROUTE"
    next_hop = action.ip if isinstance(action, NextHop) else dst
    if next_hop not in tables.neighbours:
        return "punt:ARP_MISS"
    return f"forward:{action.port}"


def expected_forwarded_frame(tables: TableState, frame: bytes) -> bytes:
    """The frame rebuilt from scratch: new MACs, TTL - 1, checksum recomputed in full."""
    dst = IPv4Address(frame[ETH + 16 : ETH + 20])
    action = tables.routes[longest_match(tables, dst)]
    assert isinstance(action, (NextHop, Direct))
    next_hop = action.ip if isinstance(action, NextHop) else dst
    egress_mac = tables.port_macs.get(action.port)
    src_mac = frame[6:12] if egress_mac is None else egress_mac.packed
    ihl = frame[ETH] & 0xF
    header = bytearray(frame[ETH : ETH + 4 * ihl])
    header[8] -= 1
    header[10:12] = full_checksum(bytes(header)).to_bytes(2, "big")
    return (
        tables.neighbours[next_hop].packed + src_mac + frame[12:ETH] + bytes(header) + frame[ETH + 4 * ihl :]
    )


def check_forward(tables: TableState, case: FrameCase, outcome: Forward) -> None:
    frame, out = case.frame, outcome.frame
    if case.ingress_port == CPU_PORT:
        assert out == frame[2:], "packet_out must leave unchanged, without its header"
        return
    assert out == expected_forwarded_frame(tables, frame)
    # The same, stated as the invariant: only MACs, TTL and checksum may differ.
    assert len(out) == len(frame)
    assert out[12 : ETH + 8] == frame[12 : ETH + 8]
    assert out[ETH + 9] == frame[ETH + 9]
    assert out[ETH + 12 :] == frame[ETH + 12 :]
    assert out[ETH + 8] == frame[ETH + 8] - 1
    assert header_checksum_verifies(out[ETH : ETH + 4 * (out[ETH] & 0xF)])


def counter_total(counters: dict) -> tuple[int, int]:
    return sum(c.packets for c in counters.values()), sum(c.bytes for c in counters.values())


def check_counter_delta(before: Counters, after: Counters, case: FrameCase, outcome: Outcome) -> None:
    """rx on the ingress port and exactly one of tx / punts+CPU tx / drops moved, by the frame's length."""
    one = (1, len(case.frame))
    moved = []
    for name in ("rx_port", "tx_port", "drops", "punts"):
        old, new = getattr(before, name), getattr(after, name)
        for key in new.keys() | old.keys():
            o, n = old.get(key), new.get(key)
            delta = (n.packets - (o.packets if o else 0), n.bytes - (o.bytes if o else 0))
            if delta != (0, 0):
                assert delta == one, f"{name}[{key}] moved by {delta}"
                moved.append((name, key))
    if isinstance(outcome, Forward):
        expected = [("rx_port", case.ingress_port), ("tx_port", outcome.port)]
    elif isinstance(outcome, Punt):
        expected = [("rx_port", case.ingress_port), ("tx_port", CPU_PORT), ("punts", outcome.reason)]
    else:
        expected = [("rx_port", case.ingress_port), ("drops", outcome.reason)]
    assert sorted(moved, key=str) == sorted(expected, key=str)


def check_counter_totals(counters: Counters) -> None:
    rx = counter_total(counters.rx_port)
    front_tx = counter_total({p: c for p, c in counters.tx_port.items() if p != CPU_PORT})
    punts, drops = counter_total(counters.punts), counter_total(counters.drops)
    assert rx == tuple(map(sum, zip(front_tx, punts, drops, strict=True)))
    cpu_tx = counters.tx_port.get(CPU_PORT)
    assert ((cpu_tx.packets, cpu_tx.bytes) if cpu_tx else (0, 0)) == punts
    assert DropReason.QUEUE_FULL not in counters.drops, "the model has no queues"


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(scenarios())
def test_random_frames_follow_the_contract(scenario) -> None:
    pipeline = ReferencePipeline(scenario.tables)
    for case in scenario.frames:
        before = copy.deepcopy(pipeline.counters)
        outcome = pipeline.process(case.frame, case.ingress_port)
        assert sum(isinstance(outcome, kind) for kind in (Forward, Punt, Drop)) == 1
        # --hypothesis-show-statistics shows how often each builder reached each outcome.
        event(f"{case.kind.split('+')[0]} -> {'forward' if isinstance(outcome, Forward) else label(outcome)}")
        assert label(outcome) == expected_label(scenario.tables, case.ingress_port, case.frame), case.kind
        if isinstance(outcome, Forward):
            check_forward(scenario.tables, case, outcome)
        elif isinstance(outcome, Punt):
            assert outcome.reason in PuntReason
            assert outcome.frame == case.frame and outcome.ingress_port == case.ingress_port
        else:
            assert outcome.reason in DropReason
        check_counter_delta(before, pipeline.counters, case, outcome)
    check_counter_totals(pipeline.counters)
