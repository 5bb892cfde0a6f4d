"""Hypothesis strategies: random router tables with random frames, valid and malformed.

The frames are built byte by byte (no scapy: thousands of examples must stay
fast) and cover every malformation class of DESIGN.md §1: runts, truncated
headers, foreign and group MACs, unknown EtherTypes, odd ARP formats, bad
IPv4 version / IHL / total length / checksum, martian sources, multicast and
broadcast destinations, TTL 0 and 1, options, trailing padding, and
packet_out frames from the CPU port with good and bad ports.

Addresses are drawn mostly from a small pool, so that destinations hit
routes, neighbours and local addresses often; prefixes are derived from
the same pool, so routes overlap.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from typing import TypeVar

from hypothesis import strategies as st

from sim.model.codes import CPU_PORT
from sim.model.tables import BROADCAST_MAC, Direct, MacAddress, NextHop, NullRoute, RouteAction, TableState

ETH = 14
T = TypeVar("T")
MAX_PORTS = 8

UNICAST_POOL = tuple(
    IPv4Address(a)
    for a in (
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.255",
        "10.0.1.1",
        "10.0.1.77",
        "10.1.0.1",
        "10.255.255.254",
        "172.16.5.200",
        "192.168.0.1",
        "192.168.0.2",
        "198.18.0.1",
        "240.0.0.1",
        "255.255.255.254",
    )
)
#: Martian sources, multicast and broadcast: what steps 5 and 6 single out.
SPECIAL_POOL = tuple(
    IPv4Address(a)
    for a in (
        "0.0.0.0",
        "0.1.2.3",
        "127.0.0.1",
        "224.0.0.5",
        "224.0.0.255",
        "224.0.1.1",
        "239.255.255.250",
        "255.255.255.255",
    )
)
ADDRESS_POOL = UNICAST_POOL + SPECIAL_POOL

addresses = st.one_of(
    st.sampled_from(ADDRESS_POOL),
    st.integers(0, (1 << 32) - 1).map(IPv4Address),
)
# 1.0.0.0 .. 223.255.255.255 without 127.0.0.0/8: no martian source, no multicast.
unicast_addresses = st.one_of(
    st.sampled_from(UNICAST_POOL),
    st.integers(0x01000000, 0xDEFFFFFF).map(lambda a: IPv4Address(a if a < 0x7F000000 else a + 0x01000000)),
)
prefix_lengths = st.one_of(st.sampled_from([0, 8, 16, 24, 30, 31, 32]), st.integers(0, 32))
ttls = st.one_of(st.sampled_from([64, 2, 1, 0, 255]), st.integers(0, 255))
sources = st.one_of(
    unicast_addresses, unicast_addresses, unicast_addresses, st.sampled_from(SPECIAL_POOL), addresses
)
arp_layouts = st.one_of(
    st.just((1, 0x0800, 6, 4)),
    st.tuples(
        st.sampled_from([1, 6]),
        st.sampled_from([0x0800, 0x86DD]),
        st.sampled_from([6, 8]),
        st.sampled_from([4, 16]),
    ),
)
ethertypes = st.one_of(st.sampled_from([0x86DD, 0x8100, 0x88CC, 0x0000, 0x0600]), st.integers(0, 0xFFFF))
payloads = st.one_of(st.binary(max_size=48), st.integers(0, 9000 - 60).map(bytes))
ihls = st.one_of(st.just(5), st.integers(5, 15))
unicast_macs = st.integers(0, (1 << 40) - 1).map(lambda low: MacAddress((0x02 << 40) | low))
ipv4_multicast_macs = st.integers(0, (1 << 23) - 1).map(lambda low: MacAddress(0x01005E000000 | low))
any_macs = st.integers(0, (1 << 48) - 1).map(MacAddress)
# Weighted choices: hypothesis prefers the first element of sampled_from, so the
# common case comes first.
MAC_KINDS = st.sampled_from(["own"] * 7 + ["broadcast", "port", "multicast", "any"])
DESTINATION_KINDS = st.sampled_from(["route", "route", "neighbour", "local", "any"])
FRAME_KINDS = st.sampled_from(["ipv4"] * 6 + ["arp", "other", "packet_out", "garbage"])


def pick(draw: st.DrawFn, choices: Sequence[T]) -> T:
    """One of ``choices`` (which may differ from draw to draw, unlike ``sampled_from``'s)."""
    return choices[draw(st.integers(0, len(choices) - 1))]


@functools.cache
def _one_in(n: int) -> st.SearchStrategy[bool]:
    return st.sampled_from([False] * (n - 1) + [True])


def chance(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in ``one_in`` draws. (Hypothesis favours small and boundary
    integers, so ``integers(1, n) == 1`` would come up far more often than 1/n.)"""
    return draw(_one_in(one_in))


@st.composite
def prefixes(draw: st.DrawFn) -> IPv4Network:
    address = draw(addresses)
    length = draw(prefix_lengths)
    return IPv4Network((int(address), length), strict=False)


@st.composite
def table_states(draw: st.DrawFn) -> TableState:
    num_ports = draw(st.integers(1, MAX_PORTS))
    all_ports = list(range(1, num_ports + 1))
    # Some ports have no MAC: they accept no unicast, and egress through them keeps the source MAC.
    ports = sorted({pick(draw, all_ports) for _ in range(draw(st.integers(1, num_ports)))})
    macs = draw(st.lists(unicast_macs, min_size=len(ports), max_size=len(ports), unique=True))
    port_macs = dict(zip(ports, macs, strict=True))
    router_macs = None
    if chance(draw, 5):  # the ingress check's MACs written apart from the egress source MACs
        router_macs = {
            pick(draw, all_ports): draw(unicast_macs) for _ in range(draw(st.integers(0, num_ports)))
        }
    routes: dict[IPv4Network, RouteAction] = {}
    for _ in range(draw(st.integers(0, 10))):
        port, kind = pick(draw, all_ports), draw(st.integers(0, 2))
        action: RouteAction = NullRoute()
        if kind == 0:
            action = NextHop(draw(unicast_addresses), port)
        elif kind == 1:
            action = Direct(port)
        routes[draw(prefixes())] = action
    # Most next hops, and a host on most connected subnets, get a neighbour entry,
    # so that forwarding is common.
    neighbours = {}
    for prefix, action in sorted(routes.items()):
        if isinstance(action, NextHop) and not chance(draw, 4):
            neighbours[action.ip] = draw(unicast_macs)
        elif isinstance(action, Direct) and not chance(draw, 4):
            host = int(prefix.network_address) + draw(st.integers(0, prefix.num_addresses - 1))
            neighbours[IPv4Address(host)] = draw(unicast_macs)
    neighbours.update(draw(st.dictionaries(addresses, unicast_macs, max_size=3)))
    return TableState(
        num_ports=num_ports,
        port_macs=port_macs,
        router_macs=router_macs,
        local_ips=draw(st.sets(addresses, max_size=4)),
        routes=routes,
        neighbours=neighbours,
    )


@dataclass(frozen=True)
class FrameCase:
    """One frame arriving on one port; ``kind`` says which builder made it (for messages)."""

    ingress_port: int
    frame: bytes
    kind: str


def destination_mac(draw: st.DrawFn, tables: TableState, ingress_port: int) -> MacAddress:
    own = tables.router_mac(ingress_port)
    kind = draw(MAC_KINDS)
    if kind == "own" and own is not None:
        return own  # mostly for us, so that the later steps are reached
    if kind == "broadcast":
        return BROADCAST_MAC
    if kind == "port":
        return pick(draw, [*tables.port_macs.values(), *(tables.router_macs or {}).values()])
    if kind == "multicast":
        return draw(ipv4_multicast_macs)
    return draw(any_macs)


def destination_ip(draw: st.DrawFn, tables: TableState) -> IPv4Address:
    source = draw(DESTINATION_KINDS)
    if source == "local" and tables.local_ips:
        return pick(draw, sorted(tables.local_ips))
    if source == "neighbour" and tables.neighbours:
        return pick(draw, sorted(tables.neighbours))
    if source == "route" and tables.routes:
        prefix = pick(draw, sorted(tables.routes))
        return IPv4Address(int(prefix.network_address) + draw(st.integers(0, prefix.num_addresses - 1)))
    return draw(addresses)


def internet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@st.composite
def ipv4_frames(draw: st.DrawFn, tables: TableState, ingress_port: int) -> FrameCase:
    ihl = draw(ihls)
    options = draw(st.binary(min_size=4 * (ihl - 5), max_size=4 * (ihl - 5)))
    payload = draw(payloads)
    ttl = draw(ttls)
    src = draw(sources)
    dst = destination_ip(draw, tables)
    header = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl,
            draw(st.integers(0, 255)),  # DSCP/ECN
            4 * ihl + len(payload),
            draw(st.integers(0, 0xFFFF)),  # identification
            draw(st.integers(0, 0xFFFF)),  # flags, fragment offset
            ttl,
            draw(st.integers(0, 255)),  # protocol
            0,
            src.packed,
            dst.packed,
        )
    )
    kind = "ipv4"
    # Malformations, each drawn independently, so some frames carry several.
    if chance(draw, 10):
        header[0] = (draw(st.integers(0, 15)) << 4) | (header[0] & 0xF)
        kind += "+version"
    if chance(draw, 10):
        header[0] = (header[0] & 0xF0) | draw(st.integers(0, 15))
        kind += "+ihl"
    if chance(draw, 10):
        header[2:4] = draw(st.integers(0, 0xFFFF)).to_bytes(2, "big")
        kind += "+total_length"
    padding = draw(st.binary(max_size=24)) if chance(draw, 5) else b""
    frame = bytearray(
        ethernet_header(destination_mac(draw, tables, ingress_port), 0x0800)
        + header
        + options
        + payload
        + padding
    )
    covered = frame[ETH : ETH + 4 * max(frame[ETH] & 0xF, 5)]
    checksum = internet_checksum(bytes(covered))
    if chance(draw, 10):
        checksum = draw(st.integers(0, 0xFFFF))
        kind += "+checksum"
    frame[ETH + 10 : ETH + 12] = checksum.to_bytes(2, "big")
    return FrameCase(ingress_port, maybe_truncated(draw, bytes(frame)), kind)


@st.composite
def arp_frames(draw: st.DrawFn, tables: TableState, ingress_port: int) -> FrameCase:
    layout = draw(arp_layouts)
    body = struct.pack("!HHBBH", *layout, draw(st.integers(1, 2))) + draw(st.binary(min_size=20, max_size=20))
    frame = ethernet_header(destination_mac(draw, tables, ingress_port), 0x0806) + body
    return FrameCase(ingress_port, maybe_truncated(draw, frame), "arp")


@st.composite
def other_frames(draw: st.DrawFn, tables: TableState, ingress_port: int) -> FrameCase:
    ethertype = draw(ethertypes)
    frame = ethernet_header(destination_mac(draw, tables, ingress_port), ethertype) + draw(
        st.binary(max_size=64)
    )
    return FrameCase(ingress_port, frame, "ethertype")


@st.composite
def packet_out_frames(draw: st.DrawFn, tables: TableState) -> FrameCase:
    if chance(draw, 10):
        return FrameCase(CPU_PORT, draw(st.binary(max_size=1)), "packet_out-short")
    port = draw(
        st.one_of(
            st.integers(1, tables.num_ports),
            st.sampled_from([0, CPU_PORT, 0xFFFF]),
            st.just(tables.num_ports + 1),
            st.integers(0, 0xFFFF),
        )
    )
    return FrameCase(CPU_PORT, port.to_bytes(2, "big") + draw(st.binary(max_size=80)), "packet_out")


def ethernet_header(dst: MacAddress, ethertype: int) -> bytes:
    return dst.packed + bytes.fromhex("02aa00000001") + ethertype.to_bytes(2, "big")


def maybe_truncated(draw: st.DrawFn, frame: bytes) -> bytes:
    if chance(draw, 10):
        return frame[: draw(st.integers(0, len(frame)))]
    return frame


@st.composite
def frame_cases(draw: st.DrawFn, tables: TableState) -> FrameCase:
    """One frame for ``tables``: mostly IPv4, then ARP, other EtherTypes, packet_out, garbage."""
    kind = draw(FRAME_KINDS)
    if kind == "packet_out":
        return draw(packet_out_frames(tables))
    # Mostly a port with a router MAC, so that unicast frames can be for us.
    configured = [p for p in range(1, tables.num_ports + 1) if tables.router_mac(p) is not None]
    if configured and not chance(draw, 5):
        port = pick(draw, configured)
    else:
        port = draw(st.integers(1, tables.num_ports))
    if kind == "garbage":
        return FrameCase(port, draw(st.binary(max_size=80)), "garbage")
    builder = {"ipv4": ipv4_frames, "arp": arp_frames, "other": other_frames}[kind]
    return draw(builder(tables, port))


@dataclass(frozen=True)
class Scenario:
    """Random tables and a few frames to run through one pipeline in order."""

    tables: TableState
    frames: tuple[FrameCase, ...]


@st.composite
def scenarios(draw: st.DrawFn, max_frames: int = 4) -> Scenario:
    tables = draw(table_states())
    frames = draw(st.lists(frame_cases(tables), min_size=1, max_size=max_frames))
    return Scenario(tables, tuple(frames))
