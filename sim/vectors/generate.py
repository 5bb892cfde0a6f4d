"""The hand-written test-vector corpus, built with scapy and checked against the model.

Each case names the outcome it is written to hit (``ExpectForward(2)``,
``ExpectDrop(DropReason.IPV4_CHECKSUM)`` ...). The stored expectation is
what the reference model does, but :func:`generate` refuses to produce a
corpus where the model disagrees with the intent, so a model bug cannot
quietly become the expected behaviour of every data plane.

Everything here is deterministic: no clocks, no unseeded randomness, so
``twinrouter vectors --check`` can compare the committed ``corpus.json``
byte for byte with what this module produces.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw
from scapy.utils import checksum as scapy_checksum

from sim.model import (
    CPU_PORT,
    Direct,
    Drop,
    DropReason,
    Forward,
    MacAddress,
    NextHop,
    NullRoute,
    Outcome,
    Punt,
    PuntReason,
    ReferencePipeline,
    TableState,
)
from sim.vectors import Vector

ETH = 14  # Ethernet header length; IPv4 starts here.

# --------------------------------------------------------------------------
# Table states. Each is a small but realistic router; the names appear in
# every vector's tags as ``table:<name>``.
# --------------------------------------------------------------------------


def mac(text: str) -> MacAddress:
    return MacAddress.parse(text)


def net(text: str) -> IPv4Network:
    return IPv4Network(text)


def ip(text: str) -> IPv4Address:
    return IPv4Address(text)


def core4() -> TableState:
    """A 4-port router: three /24 LANs, a /30 link, static routes, null routes, no default."""
    gw1, gw2, gw3, peer4 = ip("10.0.1.254"), ip("10.0.2.254"), ip("10.0.3.254"), ip("192.168.4.2")
    routes = {
        # Connected subnets, and the null routes for their directed broadcasts (RFC 2644).
        net("10.0.1.0/24"): Direct(1),
        net("10.0.2.0/24"): Direct(2),
        net("10.0.3.0/24"): Direct(3),
        net("192.168.4.0/30"): Direct(4),
        net("10.0.1.255/32"): NullRoute(),
        net("10.0.2.255/32"): NullRoute(),
        net("10.0.3.255/32"): NullRoute(),
        net("192.168.4.3/32"): NullRoute(),
        # Overlapping static routes: an aggregate, more specifics, a host route, a null hole.
        net("172.16.0.0/12"): NextHop(gw2, 2),
        net("172.16.5.0/24"): NextHop(gw3, 3),
        net("172.16.5.128/25"): NextHop(peer4, 4),
        net("172.16.5.200/32"): NextHop(gw1, 1),
        net("172.16.5.64/26"): NullRoute(),
        net("198.51.100.0/24"): NullRoute(),
        # A chain of eight nested prefixes around 198.18.0.1 (RFC 2544 benchmark space).
        net("198.18.0.0/15"): NextHop(gw1, 1),
        net("198.18.0.0/16"): NextHop(gw2, 2),
        net("198.18.0.0/19"): NextHop(gw3, 3),
        net("198.18.0.0/23"): NextHop(peer4, 4),
        net("198.18.0.0/25"): NextHop(gw1, 1),
        net("198.18.0.0/29"): NextHop(gw2, 2),
        net("198.18.0.0/31"): NextHop(gw3, 3),
        net("198.18.0.1/32"): NextHop(peer4, 4),
        # A next hop the neighbour table does not know yet.
        net("100.64.0.0/10"): NextHop(ip("10.0.3.99"), 3),
    }
    return TableState(
        num_ports=4,
        port_macs={p: mac(f"02:00:00:00:00:0{p}") for p in range(1, 5)},
        local_ips={ip("10.0.1.1"), ip("10.0.2.1"), ip("10.0.3.1"), ip("192.168.4.1"), ip("172.31.255.1")},
        routes=routes,
        neighbours={
            ip("10.0.1.10"): mac("02:aa:00:01:00:10"),
            gw1: mac("02:aa:00:01:02:54"),
            ip("10.0.2.20"): mac("02:aa:00:02:00:20"),
            gw2: mac("02:aa:00:02:02:54"),
            ip("10.0.3.30"): mac("02:aa:00:03:00:30"),
            gw3: mac("02:aa:00:03:02:54"),
            peer4: mac("02:aa:00:04:00:02"),
        },
    )


def default_only() -> TableState:
    """A 2-port router whose whole routing table is one default route."""
    return TableState(
        num_ports=2,
        port_macs={1: mac("02:00:00:00:01:01"), 2: mac("02:00:00:00:01:02")},
        local_ips={ip("10.9.1.1"), ip("10.9.2.1")},
        routes={net("0.0.0.0/0"): NextHop(ip("10.9.2.254"), 2)},
        neighbours={ip("10.9.2.254"): mac("02:bb:00:02:02:54")},
    )


def edge8() -> TableState:
    """An 8-port edge router: two LANs, an uplink on port 8 with the default route, and
    ports 3..7 present but unconfigured (no MAC: they accept no unicast)."""
    uplink = ip("100.100.0.2")
    return TableState(
        num_ports=8,
        port_macs={1: mac("02:00:00:00:02:01"), 2: mac("02:00:00:00:02:02"), 8: mac("02:00:00:00:02:08")},
        local_ips={ip("10.8.1.1"), ip("10.8.2.1"), ip("100.100.0.1")},
        routes={
            net("10.8.1.0/24"): Direct(1),
            net("10.8.2.0/24"): Direct(2),
            net("100.100.0.0/30"): Direct(8),
            net("10.8.1.255/32"): NullRoute(),
            net("10.8.2.255/32"): NullRoute(),
            net("100.100.0.3/32"): NullRoute(),
            net("10.8.0.0/16"): NullRoute(),  # the site aggregate: unused space is discarded
            net("10.8.3.7/32"): NextHop(ip("10.8.2.254"), 2),
            net("10.8.5.0/24"): Direct(5),  # port 5 has no MAC (yet)
            net("0.0.0.0/0"): NextHop(uplink, 8),
        },
        neighbours={
            uplink: mac("02:cc:00:08:00:02"),
            ip("10.8.1.10"): mac("02:cc:00:01:00:10"),
            ip("10.8.2.20"): mac("02:cc:00:02:00:20"),
            ip("10.8.2.254"): mac("02:cc:00:02:02:54"),
            ip("10.8.5.5"): mac("02:cc:00:05:00:05"),
        },
    )


def split_macs() -> TableState:
    """A 2-port router whose ingress.router_mac entries differ from its egress.port_mac
    entries (the P4 tables are separate; a controller normally writes the same MAC to both)."""
    return TableState(
        num_ports=2,
        port_macs={1: mac("02:00:00:00:04:01"), 2: mac("02:00:00:00:04:02")},
        router_macs={1: mac("02:00:00:00:05:01"), 2: mac("02:00:00:00:05:02")},
        local_ips={ip("10.6.1.1")},
        routes={net("10.6.1.0/24"): Direct(1), net("10.6.2.0/24"): Direct(2)},
        neighbours={ip("10.6.1.10"): mac("02:dd:00:01:00:10"), ip("10.6.2.20"): mac("02:dd:00:02:00:20")},
    )


def stub1() -> TableState:
    """A 1-port router with an address and no routes at all."""
    return TableState(
        num_ports=1,
        port_macs={1: mac("02:00:00:00:03:01")},
        local_ips={ip("10.7.0.1")},
    )


TABLES: dict[str, Callable[[], TableState]] = {
    "core4": core4,
    "default-only": default_only,
    "edge8": edge8,
    "split-macs": split_macs,
    "stub1": stub1,
}


def router_mac(table: str, port: int) -> str:
    mac = TABLES[table]().router_mac(port)
    assert mac is not None, f"{table} port {port} has no router MAC"
    return str(mac)


# --------------------------------------------------------------------------
# Frame builders.
# --------------------------------------------------------------------------

HOST_MAC = "02:aa:00:00:00:01"
BROADCAST = "ff:ff:ff:ff:ff:ff"


def pattern(length: int, seed: int = 0) -> bytes:
    """Deterministic, non-repeating-looking payload bytes."""
    return bytes((i * 131 + seed * 17 + (i >> 8)) & 0xFF for i in range(length))


def ipv4(
    dst_mac: str,
    src: str,
    dst: str,
    *,
    ttl: int = 64,
    ident: int = 1,
    payload: bytes = b"twinrouter",
    options: bytes = b"",
    size: int | None = None,
    proto: str = "udp",
) -> bytes:
    """An Ethernet/IPv4 frame. ``size`` pads the payload so the frame is exactly that long;
    ``options`` (a multiple of 4 bytes) go between the fixed header and the payload."""
    overhead = ETH + 20 + len(options) + (8 if proto in ("udp", "icmp") else 0)
    if size is not None:
        if size < overhead:
            raise ValueError(f"size {size} is below the {overhead} header bytes")
        payload = pattern(size - overhead, seed=ident)
    datagram = IP(src=src, dst=dst, ttl=ttl, id=ident, flags="DF")
    if proto == "udp":
        datagram = datagram / UDP(sport=40000 + ident % 1000, dport=5000)
    elif proto == "icmp":
        datagram = datagram / ICMP(type=8, id=ident, seq=1)
    else:
        datagram.proto = 253  # bare IPv4 payload (RFC 3692 experimentation)
    frame = bytes(Ether(dst=dst_mac, src=HOST_MAC) / datagram / Raw(payload))
    if options:
        frame = insert_options(frame, options)
    return frame


def insert_options(frame: bytes, options: bytes) -> bytes:
    if len(options) % 4 or len(options) > 40:
        raise ValueError(f"IPv4 options must be a multiple of 4 bytes, at most 40: {len(options)}")
    out = frame[: ETH + 20] + options + frame[ETH + 20 :]
    total = int.from_bytes(frame[ETH + 2 : ETH + 4], "big") + len(options)
    return patch_ipv4(out, ihl=5 + len(options) // 4, total_length=total)


def header_bytes(frame: bytes) -> int:
    """How many IPv4 header bytes a checksum covers (the fixed 20 when IHL < 5)."""
    return 4 * max(frame[ETH] & 0xF, 5)


def patch_ipv4(
    frame: bytes,
    *,
    version: int | None = None,
    ihl: int | None = None,
    total_length: int | None = None,
    ttl: int | None = None,
    ident: int | None = None,
    src: str | None = None,
    checksum: int | None = None,
) -> bytes:
    """Overwrite IPv4 header fields; the checksum is recomputed unless given explicitly,
    so every case carries only the defect it is about."""
    h = bytearray(frame)
    if version is not None:
        h[ETH] = (version << 4) | (h[ETH] & 0xF)
    if ihl is not None:
        h[ETH] = (h[ETH] & 0xF0) | ihl
    if total_length is not None:
        h[ETH + 2 : ETH + 4] = total_length.to_bytes(2, "big")
    if ttl is not None:
        h[ETH + 8] = ttl
    if ident is not None:
        h[ETH + 4 : ETH + 6] = ident.to_bytes(2, "big")
    if src is not None:
        h[ETH + 12 : ETH + 16] = IPv4Address(src).packed
    if checksum is None:
        end = min(ETH + header_bytes(bytes(h)), len(h))
        h[ETH + 10 : ETH + 12] = b"\x00\x00"
        checksum = scapy_checksum(bytes(h[ETH:end]))
    h[ETH + 10 : ETH + 12] = checksum.to_bytes(2, "big")
    return bytes(h)


def with_stored_checksum(frame: bytes, stored: int) -> bytes:
    """The same frame with the identification field chosen so that its (valid) header
    checksum field holds ``stored``. 0xFFFF is the second representation of zero: the
    header sums to 0xFFFF without it, so 0x0000 and 0xFFFF both verify."""
    wanted_sum = 0xFFFF if stored in (0x0000, 0xFFFF) else ~stored & 0xFFFF
    h = bytearray(frame)
    h[ETH + 4 : ETH + 6] = b"\x00\x00"
    h[ETH + 10 : ETH + 12] = b"\x00\x00"
    rest = ~scapy_checksum(bytes(h[ETH : ETH + header_bytes(frame)])) & 0xFFFF
    ident = (wanted_sum - rest) % 0xFFFF
    out = patch_ipv4(bytes(h), ident=ident, checksum=stored)
    assert scapy_checksum(out[ETH : ETH + header_bytes(out)]) == 0, "constructed checksum must verify"
    return out


def arp(
    dst_mac: str,
    *,
    op: int = 1,
    psrc: str = "10.0.1.10",
    pdst: str = "10.0.1.1",
    hwtype: int = 1,
    ptype: int = 0x0800,
    hwlen: int | None = None,
    plen: int | None = None,
) -> bytes:
    packet = ARP(op=op, hwsrc=HOST_MAC, psrc=psrc, pdst=pdst, hwtype=hwtype, ptype=ptype)
    if hwlen is not None:
        packet.hwlen = hwlen
    if plen is not None:
        packet.plen = plen
    frame = bytes(Ether(dst=dst_mac, src=HOST_MAC) / packet)
    # A non-Ethernet/IPv4 ARP keeps the Ethernet/IPv4 address layout after its
    # header fields; the pipeline reads only the first 28 bytes either way.
    return frame[: ETH + 28] if len(frame) > ETH + 28 else frame


def ethernet(dst_mac: str, ethertype: int, payload: bytes) -> bytes:
    return bytes(Ether(dst=dst_mac, src=HOST_MAC, type=ethertype) / Raw(payload))


def packet_out(port: int, frame: bytes) -> bytes:
    return struct.pack("!H", port) + frame


# --- IPv4 options, byte by byte (RFC 791) ---------------------------------

NOP, EOL = b"\x01", b"\x00"


def router_alert() -> bytes:
    return bytes([0x94, 4, 0, 0])  # RFC 2113


def record_route(slots: int, filled: list[str]) -> bytes:
    """Record Route with ``slots`` address slots, the first ``len(filled)`` already used."""
    body = b"".join(IPv4Address(a).packed for a in filled).ljust(4 * slots, b"\x00")
    return bytes([7, 3 + 4 * slots, 4 + 4 * len(filled)]) + body


def timestamp(slots: int) -> bytes:
    """Timestamp option, flag 0 (timestamps only), all slots empty."""
    return bytes([68, 4 + 4 * slots, 5, 0]) + bytes(4 * slots)


def loose_source_route(route: list[str]) -> bytes:
    return bytes([131, 3 + 4 * len(route), 4]) + b"".join(IPv4Address(a).packed for a in route)


def stream_id(value: int) -> bytes:
    return bytes([136, 4]) + value.to_bytes(2, "big")


def experimental(data: bytes) -> bytes:
    return bytes([158, 2 + len(data)]) + data  # RFC 4727 experiment, copied flag set


# --------------------------------------------------------------------------
# Cases.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectForward:
    port: int


@dataclass(frozen=True)
class ExpectPunt:
    reason: PuntReason


@dataclass(frozen=True)
class ExpectDrop:
    reason: DropReason


Expectation = ExpectForward | ExpectPunt | ExpectDrop


@dataclass(frozen=True)
class Case:
    """A hand-written case before the model has run: what it is, and what it must do."""

    name: str
    description: str
    table: str
    ingress_port: int
    frame: bytes
    expect: Expectation
    tags: tuple[str, ...] = ()


def fwd(port: int) -> ExpectForward:
    return ExpectForward(port)


def punt(reason: PuntReason) -> ExpectPunt:
    return ExpectPunt(reason)


def drop(reason: DropReason) -> ExpectDrop:
    return ExpectDrop(reason)


R1, R2, R3, R4 = (router_mac("core4", p) for p in range(1, 5))


def forwarding_cases() -> Iterator[Case]:
    for port, (src, dst, out) in enumerate(
        [
            ("10.0.1.10", "10.0.2.20", 2),
            ("10.0.2.20", "10.0.3.30", 3),
            ("10.0.3.30", "192.168.4.2", 4),
            ("192.168.4.2", "10.0.1.10", 1),
        ],
        start=1,
    ):
        yield Case(
            f"connected-port{port}-to-port{out}",
            f"{src} on port {port} to {dst} on the connected subnet of port {out}",
            "core4",
            port,
            ipv4(router_mac("core4", port), src, dst, ident=port),
            fwd(out),
            ("connected",),
        )
    yield Case(
        "connected-icmp-echo",
        "an ICMP echo request between two connected hosts is routed like any datagram",
        "core4",
        2,
        ipv4(R2, "10.0.2.20", "10.0.1.10", proto="icmp", ident=7),
        fwd(1),
        ("connected", "icmp"),
    )
    yield Case(
        "connected-hairpin",
        "a packet routed back out of the port it arrived on (no ICMP redirect here: RFC 1812 "
        "makes redirects the controller's business, not the data plane's)",
        "core4",
        1,
        ipv4(R1, "10.0.1.10", "10.0.1.254", ident=8),
        fwd(1),
        ("connected", "hairpin"),
    )
    for n, (dst, out, why) in enumerate(
        [
            ("172.16.9.9", 2, "172.16.0.0/12 via 10.0.2.254"),
            ("172.31.0.1", 2, "172.16.0.0/12 (top of the aggregate) via 10.0.2.254"),
            ("172.16.5.10", 3, "172.16.5.0/24 via 10.0.3.254 beats the /12"),
            ("172.16.5.130", 4, "172.16.5.128/25 via 192.168.4.2 beats the /24"),
            ("172.16.5.255", 4, "172.16.5.128/25 (its last address) beats the /24"),
        ]
    ):
        yield Case(
            f"nexthop-{dst}",
            f"to {dst}: {why}",
            "core4",
            1,
            ipv4(R1, "10.0.1.10", dst, ident=20 + n),
            fwd(out),
            ("nexthop", "lpm"),
        )
    yield Case(
        "host-route-32",
        "172.16.5.200 hits its /32 host route via 10.0.1.254, inside the /25 and the /24",
        "core4",
        2,
        ipv4(R2, "10.0.2.20", "172.16.5.200", ident=30),
        fwd(1),
        ("nexthop", "lpm", "host-route"),
    )
    yield Case(
        "host-route-32-neighbour",
        "172.16.5.201, next to the /32 host route, takes the /25",
        "core4",
        2,
        ipv4(R2, "10.0.2.20", "172.16.5.201", ident=31),
        fwd(4),
        ("nexthop", "lpm"),
    )
    chain = [
        ("198.19.0.1", "/15", 1),
        ("198.18.200.1", "/16", 2),
        ("198.18.16.1", "/19", 3),
        ("198.18.1.1", "/23", 4),
        ("198.18.0.100", "/25", 1),
        ("198.18.0.5", "/29", 2),
        ("198.18.0.0", "/31", 3),
        ("198.18.0.1", "/32", 4),
    ]
    for n, (dst, length, out) in enumerate(chain):
        yield Case(
            f"lpm-chain{length.replace('/', '-')}",
            f"{dst}: the longest of eight nested prefixes around 198.18.0.1 that matches is {length}",
            "core4",
            3,
            ipv4(R3, "10.0.3.30", dst, ident=40 + n),
            fwd(out),
            ("nexthop", "lpm", f"prefix{length}"),
        )
    yield Case(
        "lpm-outside-chain",
        "198.20.0.1 is just past the /15 and matches nothing: no default route in core4",
        "core4",
        3,
        ipv4(R3, "10.0.3.30", "198.20.0.1", ident=50),
        punt(PuntReason.NO_ROUTE),
        ("lpm",),
    )
    yield Case(
        "lpm-below-chain",
        "198.17.255.255 is just below the /15 and matches nothing",
        "core4",
        3,
        ipv4(R3, "10.0.3.30", "198.17.255.255", ident=51),
        punt(PuntReason.NO_ROUTE),
        ("lpm",),
    )
    for n, dst in enumerate(["8.8.8.8", "198.20.0.1", "10.0.1.10", "255.255.255.254"]):
        yield Case(
            f"default-only-{dst}",
            f"{dst} takes the only route, 0.0.0.0/0 via 10.9.2.254 on port 2",
            "default-only",
            1,
            ipv4(router_mac("default-only", 1), "10.9.1.10", dst, ident=60 + n),
            fwd(2),
            ("nexthop", "default-route", "prefix/0"),
        )
    yield Case(
        "default-only-hairpin",
        "arriving on the default route's own port, a packet goes back out of it",
        "default-only",
        2,
        ipv4(router_mac("default-only", 2), "10.9.2.20", "203.0.113.9", ident=64),
        fwd(2),
        ("nexthop", "default-route", "hairpin"),
    )
    e1, e2, e8 = (router_mac("edge8", p) for p in (1, 2, 8))
    for n, (port, rmac, src, dst, out, why, tags) in enumerate(
        [
            (1, e1, "10.8.1.10", "192.0.2.77", 8, "the default route to the uplink", ("default-route",)),
            (8, e8, "192.0.2.77", "10.8.2.20", 2, "a connected LAN", ("connected",)),
            (8, e8, "192.0.2.77", "10.8.3.7", 2, "the /32 host route inside the null /16", ("host-route",)),
            (2, e2, "10.8.2.20", "100.100.0.2", 8, "the connected uplink /30", ("connected",)),
            (2, e2, "10.8.2.20", "10.8.1.10", 1, "a connected LAN", ("connected",)),
        ]
    ):
        yield Case(
            f"edge8-{src}-to-{dst}",
            f"{src} on port {port} to {dst}: {why}, out of port {out}",
            "edge8",
            port,
            ipv4(rmac, src, dst, ident=70 + n),
            fwd(out),
            ("lpm", *tags),
        )
    yield Case(
        "source-class-e",
        "240.0.0.1 as a source is not in the contract's martian list: routed",
        "core4",
        1,
        ipv4(R1, "240.0.0.1", "10.0.2.20", ident=80),
        fwd(2),
        ("connected", "source-not-martian"),
    )
    yield Case(
        "source-own-address",
        "a packet claiming one of the router's own addresses as source is routed (no such check)",
        "core4",
        1,
        ipv4(R1, "10.0.2.1", "10.0.3.30", ident=81),
        fwd(3),
        ("connected", "source-not-martian"),
    )

    yield Case(
        "egress-port-without-mac",
        "10.8.5.0/24 is connected on port 5, which has no port MAC: the frame keeps its source MAC",
        "edge8",
        1,
        ipv4(e1, "10.8.1.10", "10.8.5.5", ident=82),
        fwd(5),
        ("connected", "unconfigured-port"),
    )
    yield Case(
        "split-macs-forward",
        "addressed to port 1's router MAC; leaves port 2 with port 2's (different) port MAC",
        "split-macs",
        1,
        ipv4(router_mac("split-macs", 1), "10.6.1.10", "10.6.2.20", ident=83),
        fwd(2),
        ("connected", "split-macs"),
    )
    yield Case(
        "split-macs-port-mac-not-accepted",
        "addressed to port 1's port MAC, which is not its router MAC: not for us",
        "split-macs",
        1,
        ipv4(str(split_macs().port_macs[1]), "10.6.1.10", "10.6.2.20", ident=84),
        drop(DropReason.NOT_FOR_US),
        ("wrong-dst-mac", "split-macs"),
    )


def null_route_cases() -> Iterator[Case]:
    for n, (dst, why) in enumerate(
        [
            ("198.51.100.7", "198.51.100.0/24 is a null route"),
            ("172.16.5.70", "172.16.5.64/26 is a null hole inside the forwarded 172.16.5.0/24"),
            ("10.0.2.255", "the directed broadcast of 10.0.2.0/24 has a /32 null route (RFC 2644)"),
            ("192.168.4.3", "the directed broadcast of the /30 link has a /32 null route"),
        ]
    ):
        yield Case(
            f"null-route-{dst}",
            f"to {dst}: {why}",
            "core4",
            1,
            ipv4(R1, "10.0.1.10", dst, ident=90 + n),
            drop(DropReason.NULL_ROUTE),
            ("null-route", "lpm"),
        )
    yield Case(
        "null-route-aggregate",
        "10.8.9.9 falls in the null 10.8.0.0/16 aggregate, which beats the default route",
        "edge8",
        8,
        ipv4(router_mac("edge8", 8), "192.0.2.77", "10.8.9.9", ident=95),
        drop(DropReason.NULL_ROUTE),
        ("null-route", "lpm"),
    )


def punt_cases() -> Iterator[Case]:
    # ARP
    yield Case(
        "arp-request-broadcast",
        "who-has 10.0.1.1 broadcast on port 1",
        "core4",
        1,
        arp(BROADCAST),
        punt(PuntReason.ARP),
        ("arp",),
    )
    yield Case(
        "arp-reply-unicast",
        "an ARP reply to the router's MAC on port 2",
        "core4",
        2,
        arp(R2, op=2, psrc="10.0.2.20", pdst="10.0.2.1"),
        punt(PuntReason.ARP),
        ("arp",),
    )
    yield Case(
        "arp-gratuitous",
        "a gratuitous ARP (sender = target) broadcast on port 3",
        "core4",
        3,
        arp(BROADCAST, psrc="10.0.3.30", pdst="10.0.3.30"),
        punt(PuntReason.ARP),
        ("arp",),
    )
    yield Case(
        "arp-for-someone-else",
        "who-has for another host: still punted, the controller decides",
        "core4",
        1,
        arp(BROADCAST, pdst="10.0.1.77"),
        punt(PuntReason.ARP),
        ("arp",),
    )
    yield Case(
        "arp-on-unconfigured-port",
        "a broadcast ARP on edge8 port 5, which has no MAC: broadcasts are still taken",
        "edge8",
        5,
        arp(BROADCAST, psrc="10.8.5.5", pdst="10.8.5.1"),
        punt(PuntReason.ARP),
        ("arp", "unconfigured-port"),
    )
    yield Case(
        "arp-padded-to-60",
        "a broadcast ARP padded to the Ethernet minimum with 18 trailing bytes",
        "core4",
        4,
        arp(BROADCAST, psrc="192.168.4.2", pdst="192.168.4.1") + bytes(18),
        punt(PuntReason.ARP),
        ("arp", "padding"),
    )
    # LOCAL
    local_targets = [
        (1, R1, "10.0.1.10", "10.0.1.1", "the ingress port's own address"),
        (1, R1, "10.0.1.10", "10.0.3.1", "another port's address"),
        (2, R2, "10.0.2.20", "172.31.255.1", "the router id (loopback) address"),
        (4, R4, "192.168.4.2", "192.168.4.1", "the /30 link address"),
    ]
    for n, (port, rmac, src, dst, why) in enumerate(local_targets):
        yield Case(
            f"local-{dst}",
            f"to {dst}, {why}",
            "core4",
            port,
            ipv4(rmac, src, dst, proto="icmp", ident=100 + n),
            punt(PuntReason.LOCAL),
            ("local",),
        )
    yield Case(
        "local-limited-broadcast",
        "255.255.255.255 in a broadcast frame (DHCP-like)",
        "core4",
        1,
        ipv4(BROADCAST, "10.0.1.10", "255.255.255.255", ident=110),
        punt(PuntReason.LOCAL),
        ("local", "limited-broadcast", "l2-broadcast"),
    )
    yield Case(
        "local-limited-broadcast-unicast-mac",
        "255.255.255.255 in a frame to the router's MAC",
        "core4",
        1,
        ipv4(R1, "10.0.1.10", "255.255.255.255", ident=111),
        punt(PuntReason.LOCAL),
        ("local", "limited-broadcast"),
    )
    for n, group in enumerate(["224.0.0.5", "224.0.0.6", "224.0.0.1", "224.0.0.255"]):
        gmac = "01:00:5e:00:00:" + f"{int(group.split('.')[-1]):02x}"
        yield Case(
            f"local-multicast-{group}",
            f"link-local multicast {group} (224.0.0.0/24) in a frame to {gmac}",
            "core4",
            2,
            ipv4(gmac, "10.0.2.20", group, ttl=1, ident=120 + n, proto="raw"),
            punt(PuntReason.LOCAL),
            ("local", "link-local-multicast", "l2-multicast"),
        )
    yield Case(
        "local-multicast-to-router-mac",
        "224.0.0.5 in a frame unicast to the router's MAC is still link-local multicast: LOCAL",
        "core4",
        3,
        ipv4(R3, "10.0.3.30", "224.0.0.5", ttl=1, ident=124, proto="raw"),
        punt(PuntReason.LOCAL),
        ("local", "link-local-multicast"),
    )
    yield Case(
        "local-in-l2-broadcast",
        "the router's own unicast address in an L2 broadcast frame: step 6 takes it",
        "core4",
        1,
        ipv4(BROADCAST, "10.0.1.10", "10.0.1.1", ident=125),
        punt(PuntReason.LOCAL),
        ("local", "l2-broadcast"),
    )
    for ttl in (1, 0):
        yield Case(
            f"local-ttl{ttl}",
            f"TTL {ttl} to the router's own address: delivered, LOCAL comes before the TTL check",
            "core4",
            1,
            ipv4(R1, "10.0.1.10", "10.0.1.1", ttl=ttl, proto="icmp", ident=126 + ttl),
            punt(PuntReason.LOCAL),
            ("local", f"ttl{ttl}"),
        )
    yield Case(
        "local-with-options",
        "to the router with a Router Alert option (IHL 6)",
        "core4",
        2,
        ipv4(R2, "10.0.2.20", "10.0.2.1", options=router_alert(), ident=128),
        punt(PuntReason.LOCAL),
        ("local", "options"),
    )
    yield Case(
        "local-stub1",
        "the 1-port router's only address",
        "stub1",
        1,
        ipv4(router_mac("stub1", 1), "10.7.0.10", "10.7.0.1", ident=129),
        punt(PuntReason.LOCAL),
        ("local",),
    )
    # TTL_EXPIRED
    for ttl in (1, 0):
        yield Case(
            f"ttl{ttl}-transit",
            f"TTL {ttl} on a packet to be routed: the controller answers Time Exceeded",
            "core4",
            1,
            ipv4(R1, "10.0.1.10", "10.0.2.20", ttl=ttl, ident=130 + ttl),
            punt(PuntReason.TTL_EXPIRED),
            (f"ttl{ttl}",),
        )
    yield Case(
        "ttl1-to-null-route",
        "TTL 1 towards a null route: the TTL check comes before the lookup",
        "core4",
        1,
        ipv4(R1, "10.0.1.10", "198.51.100.7", ttl=1, ident=132),
        punt(PuntReason.TTL_EXPIRED),
        ("ttl1", "null-route"),
    )
    yield Case(
        "ttl1-no-route",
        "TTL 1 towards a destination without a route",
        "stub1",
        1,
        ipv4(router_mac("stub1", 1), "10.7.0.10", "192.0.2.1", ttl=1, ident=133),
        punt(PuntReason.TTL_EXPIRED),
        ("ttl1",),
    )
    yield Case(
        "ttl1-no-route-core4",
        "TTL 1 towards 203.0.113.5, which core4 has no route for: the TTL check comes first",
        "core4",
        4,
        ipv4(R4, "192.168.4.2", "203.0.113.5", ttl=1, ident=137),
        punt(PuntReason.TTL_EXPIRED),
        ("ttl1", "no-route"),
    )
    yield Case(
        "ttl1-traceroute-probe",
        "a traceroute UDP probe with TTL 1 and options (IHL 8)",
        "core4",
        3,
        ipv4(R3, "10.0.3.30", "172.16.9.9", ttl=1, ident=134, options=NOP * 8 + router_alert()),
        punt(PuntReason.TTL_EXPIRED),
        ("ttl1", "options"),
    )
    yield Case(
        "ttl2-forwarded",
        "TTL 2 is forwarded, leaving with TTL 1",
        "core4",
        1,
        ipv4(R1, "10.0.1.10", "10.0.2.20", ttl=2, ident=135),
        fwd(2),
        ("ttl2", "connected"),
    )
    yield Case(
        "ttl255-forwarded",
        "TTL 255 is forwarded, leaving with 254",
        "core4",
        1,
        ipv4(R1, "10.0.1.10", "10.0.2.20", ttl=255, ident=136),
        fwd(2),
        ("ttl255", "connected"),
    )
    # NO_ROUTE
    yield Case(
        "no-route-stub1",
        "the 1-port router has no routes at all",
        "stub1",
        1,
        ipv4(router_mac("stub1", 1), "10.7.0.10", "192.0.2.1", ident=140),
        punt(PuntReason.NO_ROUTE),
        ("no-route",),
    )
    yield Case(
        "no-route-core4",
        "203.0.113.5: core4 has no default route",
        "core4",
        2,
        ipv4(R2, "10.0.2.20", "203.0.113.5", ident=141),
        punt(PuntReason.NO_ROUTE),
        ("no-route",),
    )
    # ARP_MISS
    yield Case(
        "arp-miss-nexthop",
        "100.64.1.1 routes via 10.0.3.99, which the neighbour table does not hold",
        "core4",
        1,
        ipv4(R1, "10.0.1.10", "100.64.1.1", ident=150),
        punt(PuntReason.ARP_MISS),
        ("arp-miss", "nexthop"),
    )
    yield Case(
        "arp-miss-connected",
        "10.0.1.77 is on a connected subnet but not in the neighbour table",
        "core4",
        2,
        ipv4(R2, "10.0.2.20", "10.0.1.77", ident=151),
        punt(PuntReason.ARP_MISS),
        ("arp-miss", "connected"),
    )
    yield Case(
        "arp-miss-edge8",
        "10.8.1.99 on edge8's LAN 1 has no neighbour entry",
        "edge8",
        8,
        ipv4(router_mac("edge8", 8), "192.0.2.77", "10.8.1.99", ident=152),
        punt(PuntReason.ARP_MISS),
        ("arp-miss", "connected"),
    )


def packet_out_cases() -> Iterator[Case]:
    inner = [
        ("arp-reply", arp("02:aa:00:01:00:10", op=2, psrc="10.0.1.1", pdst="10.0.1.10")),
        ("icmp", ipv4("02:aa:00:02:00:20", "10.0.2.1", "10.0.2.20", proto="icmp", ident=160)),
        ("bad-checksum", patch_ipv4(ipv4(HOST_MAC, "10.0.3.1", "10.0.3.30", ident=161), checksum=0x1234)),
        ("runt", bytes.fromhex("02aa00000001")),
    ]
    for port, (what, frame) in enumerate(inner, start=1):
        yield Case(
            f"packet-out-port{port}-{what}",
            f"the controller sends a finished {what} frame out of port {port}: no rewrite, no checks",
            "core4",
            CPU_PORT,
            packet_out(port, frame),
            fwd(port),
            ("packet-out",),
        )
    yield Case(
        "packet-out-edge8-port8",
        "port 8 is the highest valid port of an 8-port router",
        "edge8",
        CPU_PORT,
        packet_out(8, arp(BROADCAST, psrc="100.100.0.1", pdst="100.100.0.2")),
        fwd(8),
        ("packet-out",),
    )
    yield Case(
        "packet-out-edge8-unconfigured-port",
        "port 5 exists but has no MAC: the controller may still send on it",
        "edge8",
        CPU_PORT,
        packet_out(5, arp(BROADCAST, psrc="10.8.5.1", pdst="10.8.5.5")),
        fwd(5),
        ("packet-out", "unconfigured-port"),
    )
    for table, port, why in [
        ("core4", 0, "port 0 does not exist"),
        ("core4", 5, "num_ports + 1"),
        ("core4", 255, "the CPU port itself"),
        ("core4", 0xFFFF, "the largest 16-bit value"),
        ("core4", 0x0101, "257: a port number wider than 8 bits"),
        ("edge8", 9, "num_ports + 1 on an 8-port router"),
        ("stub1", 2, "num_ports + 1 on a 1-port router"),
    ]:
        yield Case(
            f"packet-out-bad-port-{table}-{port}",
            f"packet_out to port {port}: {why}",
            table,
            CPU_PORT,
            packet_out(port, arp(BROADCAST)),
            drop(DropReason.BAD_PACKET_OUT_PORT),
            ("packet-out",),
        )
    for length in (0, 1):
        yield Case(
            f"packet-out-{length}-bytes",
            f"a {length}-byte frame from the CPU port cannot hold the 2-byte packet_out header",
            "core4",
            CPU_PORT,
            b"\x00" * length,
            drop(DropReason.TRUNCATED),
            ("packet-out", "truncated"),
        )


def truncated_cases() -> Iterator[Case]:
    good = ipv4(R1, "10.0.1.10", "10.0.2.20", ident=170)
    with_options = ipv4(R1, "10.0.1.10", "10.0.2.20", ident=171, options=NOP * 40)
    cases = [
        ("empty", b"", "a zero-length frame"),
        ("1-byte", b"\x02", "a 1-byte frame"),
        ("runt-13", good[:13], "13 bytes: one short of an Ethernet header"),
        ("arp-41", arp(BROADCAST)[:41], "an ARP frame one byte short of the 28-byte ARP header"),
        ("arp-14", arp(BROADCAST)[:14], "an ARP EtherType with no ARP header at all"),
        ("ipv4-14", good[:14], "an IPv4 EtherType with no IPv4 header at all"),
        ("ipv4-33", good[:33], "one byte short of the 20 fixed IPv4 bytes"),
        ("ihl6-37", patch_ipv4(good, ihl=6)[:37], "IHL 6 needs 24 header bytes; 23 are present"),
        ("ihl15-73", with_options[:73], "IHL 15 needs 60 header bytes; 59 are present"),
        ("ihl15-34", with_options[:34], "IHL 15 with only the 20 fixed bytes"),
        ("ihl4-33", patch_ipv4(good, ihl=4)[:33], "IHL 4 still needs the 20 fixed bytes"),
        ("wrong-mac", ipv4(HOST_MAC, "10.0.1.10", "10.0.2.20")[:30], "short and not for us: length first"),
    ]
    for name, frame, why in cases:
        yield Case(
            f"truncated-{name}",
            why,
            "core4",
            1,
            frame,
            drop(DropReason.TRUNCATED),
            ("truncated", "malformed"),
        )


def l2_cases() -> Iterator[Case]:
    for n, (dst_mac, why) in enumerate(
        [
            (R2, "port 2's MAC, arriving on port 1"),
            (HOST_MAC, "another host's unicast MAC"),
            ("01:80:c2:00:00:0e", "the LLDP/STP multicast group, not an IPv4 multicast MAC"),
            ("33:33:00:00:00:01", "an IPv6 multicast MAC"),
            ("01:00:5e:80:00:05", "01:00:5e with the 25th bit set: outside 01:00:5e:00:00:00/25"),
        ]
    ):
        yield Case(
            f"not-for-us-{n}",
            f"destination MAC {dst_mac}: {why}",
            "core4",
            1,
            ipv4(dst_mac, "10.0.1.10", "10.0.2.20", ident=180 + n),
            drop(DropReason.NOT_FOR_US),
            ("wrong-dst-mac",),
        )
    yield Case(
        "not-for-us-unconfigured-port",
        "port 1's MAC arriving on edge8 port 5, which has no MAC of its own",
        "edge8",
        5,
        ipv4(router_mac("edge8", 1), "10.8.5.5", "10.8.1.10", ident=186),
        drop(DropReason.NOT_FOR_US),
        ("wrong-dst-mac", "unconfigured-port"),
    )
    yield Case(
        "not-for-us-arp",
        "an ARP reply to another host's MAC",
        "core4",
        1,
        arp(HOST_MAC, op=2),
        drop(DropReason.NOT_FOR_US),
        ("wrong-dst-mac", "arp"),
    )
    for n, (ethertype, dst_mac, why) in enumerate(
        [
            (0x86DD, R1, "IPv6"),
            (0x8100, R1, "an 802.1Q VLAN tag"),
            (0x88CC, R1, "LLDP"),
            (0x0040, R1, "an 802.3 length field (64), not an EtherType"),
            (0x8035, BROADCAST, "RARP, broadcast"),
            (0x86DD, "01:00:5e:00:00:fb", "IPv6 in an IPv4 multicast MAC"),
        ]
    ):
        yield Case(
            f"ethertype-{ethertype:04x}-{n}",
            f"EtherType {ethertype:#06x}: {why}",
            "core4",
            1,
            ethernet(dst_mac, ethertype, pattern(46, seed=n)),
            drop(DropReason.UNSUPPORTED_ETHERTYPE),
            ("unsupported-ethertype",),
        )
    for name, kwargs, why in [
        ("htype6", {"hwtype": 6}, "hardware type 6 (IEEE 802)"),
        ("ptype-ipv6", {"ptype": 0x86DD}, "protocol type IPv6"),
        ("hlen8", {"hwlen": 8}, "hardware address length 8"),
        ("plen16", {"plen": 16}, "protocol address length 16"),
    ]:
        yield Case(
            f"arp-not-ethernet-ipv4-{name}",
            f"an ARP with {why} is not Ethernet/IPv4 ARP",
            "core4",
            1,
            arp(BROADCAST, **kwargs),
            drop(DropReason.UNSUPPORTED_ETHERTYPE),
            ("unsupported-ethertype", "arp"),
        )
    yield Case(
        "arp-to-multicast-mac",
        "an Ethernet/IPv4 ARP sent to an IPv4 multicast MAC is never taken",
        "core4",
        1,
        arp("01:00:5e:00:00:01"),
        drop(DropReason.NOT_ROUTABLE_L2),
        ("not-routable-l2", "arp", "l2-multicast"),
    )
    for n, (dst_mac, dst, why) in enumerate(
        [
            (BROADCAST, "10.0.2.20", "a unicast destination in an L2 broadcast frame"),
            ("01:00:5e:00:00:05", "10.0.2.20", "a unicast destination in an IPv4 multicast frame"),
            (BROADCAST, "172.16.9.9", "a routable destination in an L2 broadcast frame"),
            (BROADCAST, "198.51.100.7", "a null-routed destination in an L2 broadcast frame"),
        ]
    ):
        yield Case(
            f"not-routable-l2-{n}",
            why,
            "core4",
            1,
            ipv4(dst_mac, "10.0.1.10", dst, ident=190 + n),
            drop(DropReason.NOT_ROUTABLE_L2),
            ("not-routable-l2",),
        )
    yield Case(
        "not-routable-l2-ttl1",
        "TTL 1 in a broadcast frame to a unicast destination: never routed, so no Time Exceeded",
        "core4",
        1,
        ipv4(BROADCAST, "10.0.1.10", "10.0.2.20", ttl=1, ident=195),
        drop(DropReason.NOT_ROUTABLE_L2),
        ("not-routable-l2", "ttl1"),
    )


def ipv4_sanity_cases() -> Iterator[Case]:
    good = ipv4(R1, "10.0.1.10", "10.0.2.20", ident=200)
    opts = ipv4(R1, "10.0.1.10", "10.0.2.20", ident=201, options=router_alert())
    total = len(good) - ETH
    cases: list[tuple[str, bytes, DropReason, str, tuple[str, ...]]] = [
        (
            "version-6",
            patch_ipv4(good, version=6),
            DropReason.IPV4_VERSION,
            "version 6 under EtherType 0x0800",
            (),
        ),
        ("version-0", patch_ipv4(good, version=0), DropReason.IPV4_VERSION, "version 0", ()),
        ("version-15", patch_ipv4(good, version=15), DropReason.IPV4_VERSION, "version 15", ()),
        (
            "version-6-ihl-3",
            patch_ipv4(good, version=6, ihl=3),
            DropReason.IPV4_VERSION,
            "version 6 and IHL 3: the version is checked first",
            ("ihl-lt-5",),
        ),
        ("ihl-0", patch_ipv4(good, ihl=0), DropReason.IPV4_IHL, "IHL 0", ("ihl-lt-5",)),
        ("ihl-1", patch_ipv4(good, ihl=1), DropReason.IPV4_IHL, "IHL 1", ("ihl-lt-5",)),
        ("ihl-4", patch_ipv4(good, ihl=4), DropReason.IPV4_IHL, "IHL 4", ("ihl-lt-5",)),
        (
            "ihl-4-bad-checksum",
            patch_ipv4(good, ihl=4, checksum=0xBEEF),
            DropReason.IPV4_IHL,
            "IHL 4 and a wrong checksum: the IHL is checked first",
            ("ihl-lt-5", "bad-checksum"),
        ),
        ("total-length-0", patch_ipv4(good, total_length=0), DropReason.IPV4_LENGTH, "total length 0", ()),
        (
            "total-length-19",
            patch_ipv4(good, total_length=19),
            DropReason.IPV4_LENGTH,
            "total length 19 < 20",
            (),
        ),
        (
            "total-length-below-ihl",
            patch_ipv4(opts, total_length=23),
            DropReason.IPV4_LENGTH,
            "IHL 6 (24 bytes) with total length 23",
            ("options",),
        ),
        (
            "total-length-plus-1",
            patch_ipv4(good, total_length=total + 1),
            DropReason.IPV4_LENGTH,
            "total length one byte more than the frame carries",
            (),
        ),
        (
            "total-length-65535",
            patch_ipv4(good, total_length=0xFFFF),
            DropReason.IPV4_LENGTH,
            "total length 65535 in a short frame",
            (),
        ),
        (
            "total-length-frame-cut-after-header",
            patch_ipv4(good, total_length=total)[: ETH + 20],
            DropReason.IPV4_LENGTH,
            "a frame cut right after the IPv4 header: the header is complete, the datagram is not",
            (),
        ),
        (
            "checksum-off-by-one",
            patch_ipv4(good, checksum=(int.from_bytes(good[24:26], "big") + 1) & 0xFFFF),
            DropReason.IPV4_CHECKSUM,
            "header checksum off by one",
            ("bad-checksum",),
        ),
        (
            "checksum-zeroed",
            patch_ipv4(good, checksum=0),
            DropReason.IPV4_CHECKSUM,
            "checksum 0x0000 where it should not verify",
            ("bad-checksum",),
        ),
        (
            "checksum-all-ones",
            patch_ipv4(good, checksum=0xFFFF),
            DropReason.IPV4_CHECKSUM,
            "checksum 0xFFFF where it should not verify",
            ("bad-checksum",),
        ),
        (
            "checksum-covers-options",
            opts[: ETH + 22] + bytes([opts[ETH + 22] ^ 0x01]) + opts[ETH + 23 :],
            DropReason.IPV4_CHECKSUM,
            "an option byte flipped after the checksum was computed: the checksum covers options",
            ("bad-checksum", "options"),
        ),
        (
            "checksum-bad-and-martian",
            patch_ipv4(patch_ipv4(good, src="127.0.0.1"), checksum=0x1111),
            DropReason.IPV4_CHECKSUM,
            "a wrong checksum and a martian source: the checksum is checked first",
            ("bad-checksum",),
        ),
        (
            "ttl0-and-bad-checksum",
            patch_ipv4(patch_ipv4(good, ttl=0), checksum=0x2222),
            DropReason.IPV4_CHECKSUM,
            "TTL 0 and a wrong checksum: sanity checks come before the TTL",
            ("bad-checksum", "ttl0"),
        ),
        (
            "bad-checksum-l2-broadcast",
            patch_ipv4(ipv4(BROADCAST, "10.0.1.10", "10.0.1.1", ident=202), checksum=0x3333),
            DropReason.IPV4_CHECKSUM,
            "a broadcast frame is still checked before step 6 may take it",
            ("bad-checksum", "l2-broadcast"),
        ),
    ]
    for name, frame, reason, why, tags in cases:
        yield Case(f"ipv4-{name}", why, "core4", 1, frame, drop(reason), ("malformed", *tags))
    for n, (src, block) in enumerate(
        [
            ("0.0.0.0", "0.0.0.0/8"),
            ("0.1.2.3", "0.0.0.0/8"),
            ("127.0.0.1", "127.0.0.0/8"),
            ("127.255.255.254", "127.0.0.0/8"),
            ("224.0.0.5", "224.0.0.0/4"),
            ("239.255.255.250", "224.0.0.0/4"),
            ("255.255.255.255", "255.255.255.255/32"),
        ]
    ):
        yield Case(
            f"martian-source-{src}",
            f"source {src} is in the martian block {block}",
            "core4",
            1,
            ipv4(R1, src, "10.0.2.20", ident=210 + n),
            drop(DropReason.MARTIAN_SOURCE),
            ("martian-source", f"martian:{block}"),
        )
    yield Case(
        "martian-source-to-local",
        "a martian source is dropped even when the destination is the router",
        "core4",
        1,
        ipv4(R1, "127.0.0.1", "10.0.1.1", ident=217),
        drop(DropReason.MARTIAN_SOURCE),
        ("martian-source", "martian:127.0.0.0/8"),
    )
    for n, (dst_mac, group) in enumerate(
        [
            ("01:00:5e:00:01:01", "224.0.1.1"),
            ("01:00:5e:7f:ff:fa", "239.255.255.250"),
            ("01:00:5e:01:01:01", "232.1.1.1"),
            (R1, "239.1.2.3"),
        ]
    ):
        yield Case(
            f"multicast-destination-{group}",
            f"{group} is multicast outside 224.0.0.0/24 (frame to {dst_mac}): no multicast routing",
            "core4",
            1,
            ipv4(dst_mac, "10.0.1.10", group, ident=220 + n),
            drop(DropReason.MULTICAST_DESTINATION),
            ("multicast-destination",),
        )


def option_cases() -> Iterator[Case]:
    """IHL 6..15 with assorted well-formed options: all forwarded with the options untouched."""
    options_by_ihl = {
        6: (router_alert(), "Router Alert"),
        7: (record_route(1, []) + EOL, "Record Route with one empty slot"),
        8: (record_route(2, ["10.0.1.254", "10.0.2.254"]) + EOL, "a full Record Route"),
        9: (timestamp(2) + NOP * 4, "Timestamp with two empty slots"),
        10: (loose_source_route(["10.0.2.254", "10.0.3.254"]) + NOP * 9, "Loose Source Route"),
        11: (stream_id(0x1234) + NOP * 20, "Stream ID and NOPs"),
        12: (
            experimental(b"\xde\xad\xbe\xef") + EOL + b"\x5a" * 21,
            "an experiment option, EOL, bytes after it",
        ),
        13: (NOP * 32, "32 NOPs"),
        14: (experimental(bytes(range(30))) + router_alert(), "a 32-byte experiment option"),
        15: (record_route(9, ["10.0.1.254"] * 9) + EOL, "the largest Record Route (9 slots, full)"),
    }
    for ihl, (options, what) in options_by_ihl.items():
        assert len(options) == 4 * (ihl - 5), f"IHL {ihl}: {len(options)} option bytes"
        yield Case(
            f"options-ihl{ihl}",
            f"IHL {ihl}: {what}; forwarded with options and payload unchanged",
            "core4",
            1,
            ipv4(R1, "10.0.1.10", "172.16.9.9", ident=230 + ihl, options=options),
            fwd(2),
            ("options", f"ihl:{ihl}"),
        )
    yield Case(
        "options-ihl15-size-1500",
        "IHL 15 in a 1500-byte frame",
        "core4",
        2,
        ipv4(R2, "10.0.2.20", "10.0.3.30", ident=246, options=NOP * 36 + router_alert(), size=1500),
        fwd(3),
        ("options", "ihl:15", "size:1500"),
    )
    yield Case(
        "options-header-only",
        "IHL 15 and nothing after the header: total length 60, a 74-byte frame",
        "core4",
        3,
        ipv4(R3, "10.0.3.30", "10.0.1.10", ident=247, options=NOP * 40, proto="raw", payload=b""),
        fwd(1),
        ("options", "ihl:15"),
    )


def size_cases() -> Iterator[Case]:
    for size in (60, 64, 65, 128, 256, 512, 1500, 1518, 9000):
        yield Case(
            f"size-{size}",
            f"a {size}-byte frame is forwarded whole",
            "core4",
            1,
            ipv4(R1, "10.0.1.10", "10.0.2.20", ident=size, size=size),
            fwd(2),
            (f"size:{size}", "connected"),
        )
    yield Case(
        "size-9000-via-default",
        "a 9000-byte jumbo frame over the default route",
        "edge8",
        1,
        ipv4(router_mac("edge8", 1), "10.8.1.10", "192.0.2.77", ident=9001, size=9000),
        fwd(8),
        ("size:9000", "default-route"),
    )
    for size, proto, why in [
        (34, "raw", "an IPv4 header and nothing else"),
        (42, "udp", "UDP with an empty payload"),
        (59, "udp", "one byte short of the Ethernet minimum"),
    ]:
        yield Case(
            f"short-frame-{size}",
            f"a {size}-byte frame, {why}: legal here, a veth does not pad",
            "core4",
            2,
            ipv4(R2, "10.0.2.20", "10.0.1.10", ident=size, size=size, proto=proto),
            fwd(1),
            ("short-frame", f"size:{size}"),
        )


def padding_cases() -> Iterator[Case]:
    short = ipv4(R1, "10.0.1.10", "10.0.2.20", ident=300, payload=b"hi")
    yield Case(
        "padding-to-60-zeros",
        "a 44-byte datagram padded with zeros to a 60-byte frame: the padding is carried",
        "core4",
        1,
        short + bytes(60 - len(short)),
        fwd(2),
        ("padding",),
    )
    yield Case(
        "padding-nonzero",
        "trailing bytes that are not zero travel unchanged",
        "core4",
        1,
        short + b"\xa5\x5a" * 8,
        fwd(2),
        ("padding",),
    )
    longer = ipv4(R3, "10.0.3.30", "172.16.5.10", ident=301, size=200)
    yield Case(
        "padding-300-bytes",
        "300 bytes after a 186-byte datagram",
        "core4",
        3,
        longer + pattern(300, seed=3),
        fwd(3),
        ("padding", "hairpin"),
    )
    yield Case(
        "padding-with-options",
        "IHL 7 and 20 trailing bytes",
        "core4",
        4,
        ipv4(R4, "192.168.4.2", "10.0.2.20", ident=302, options=stream_id(7) + NOP * 4) + bytes(20),
        fwd(2),
        ("padding", "options", "ihl:7"),
    )


def checksum_edge_cases() -> Iterator[Case]:
    """Incoming checksums where the RFC 1624 update crosses 0x0000/0xFFFF. The TTL
    decrement adds 0x0100 to the checksum (one's complement), so 0xFEFF..0xFFFF wrap."""
    for n, stored in enumerate([0x0000, 0xFFFF, 0xFEFF, 0xFF00, 0xFEFE, 0xFFFE, 0x00FF, 0x0100, 0x0001]):
        frame = with_stored_checksum(ipv4(R1, "10.0.1.10", "10.0.2.20", ident=0, ttl=64 + n), stored)
        yield Case(
            f"checksum-in-{stored:04x}",
            f"incoming header checksum {stored:#06x}; the rewrite must equal a full recomputation",
            "core4",
            1,
            frame,
            fwd(2),
            ("checksum-edge", f"checksum:{stored:04x}"),
        )
    for stored in (0xFEFF, 0xFFFF, 0x0000):
        frame = with_stored_checksum(
            ipv4(R2, "10.0.2.20", "172.16.9.9", ident=0, ttl=2, options=router_alert() + NOP * 4), stored
        )
        yield Case(
            f"checksum-in-{stored:04x}-options-ttl2",
            f"checksum {stored:#06x} with options (IHL 7) and TTL 2",
            "core4",
            2,
            frame,
            fwd(2),
            ("checksum-edge", "options", "ihl:7", "ttl2", f"checksum:{stored:04x}"),
        )
    frame = with_stored_checksum(ipv4(R1, "10.0.1.10", "10.0.2.20", ident=0, ttl=255), 0xFFFF)
    yield Case(
        "checksum-in-ffff-ttl255",
        "checksum 0xFFFF (the other zero) with TTL 255",
        "core4",
        1,
        frame,
        fwd(2),
        ("checksum-edge", "ttl255", "checksum:ffff"),
    )


CASE_GROUPS: tuple[Callable[[], Iterator[Case]], ...] = (
    forwarding_cases,
    null_route_cases,
    punt_cases,
    packet_out_cases,
    truncated_cases,
    l2_cases,
    ipv4_sanity_cases,
    option_cases,
    size_cases,
    padding_cases,
    checksum_edge_cases,
)


def hand_written_cases() -> list[Case]:
    cases = [case for group in CASE_GROUPS for case in group()]
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate case names: {duplicates}")
    return cases


# --------------------------------------------------------------------------
# From cases to vectors.
# --------------------------------------------------------------------------


class ExpectationMismatch(AssertionError):
    """The model does not do what a hand-written case was written to test."""


def outcome_tag(outcome: Outcome) -> str:
    if isinstance(outcome, Forward):
        return "forward"
    if isinstance(outcome, Punt):
        return f"punt:{outcome.reason.name}"
    return f"drop:{outcome.reason.name}"


def matches(expect: Expectation, outcome: Outcome) -> bool:
    match expect:
        case ExpectForward(port):
            return isinstance(outcome, Forward) and outcome.port == port
        case ExpectPunt(reason):
            return isinstance(outcome, Punt) and outcome.reason == reason
        case ExpectDrop(reason):
            return isinstance(outcome, Drop) and outcome.reason == reason
    return False


def to_vector(case: Case) -> Vector:
    tables = TABLES[case.table]()
    outcome = ReferencePipeline(tables).decide(case.frame, case.ingress_port)
    if not matches(case.expect, outcome):
        raise ExpectationMismatch(
            f"case {case.name!r}: written to hit {case.expect}, the model says {outcome}"
        )
    tags = (outcome_tag(outcome), f"table:{case.table}", *case.tags)
    return Vector(case.name, case.description, tables, case.ingress_port, case.frame, outcome, tags)


def generate() -> list[Vector]:
    """The corpus: every hand-written case with the model's outcome as the expectation."""
    return [to_vector(case) for case in hand_written_cases()]
