"""The reference pipeline: DESIGN.md §1, step by step, in plain Python.

This is the oracle. Each numbered step of the contract is one block below,
in the contract's order, so a reader can hold the two side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from .checksum import checksum_ok, incremental_update
from .codes import (
    ARP_HEADER_LEN,
    CPU_PORT,
    ETH_HEADER_LEN,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    IPV4_MIN_HEADER_LEN,
    PACKET_OUT_HEADER_LEN,
    DropReason,
    PuntReason,
)
from .lpm import ReferenceLpm
from .outcome import Counters, Drop, Forward, Outcome, Punt
from .tables import Direct, MacAddress, NextHop, NullRoute, RouteAction, TableState

MARTIAN_SOURCES = tuple(
    IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32")
)
LIMITED_BROADCAST = IPv4Address("255.255.255.255")
LINK_LOCAL_MULTICAST = IPv4Network("224.0.0.0/24")
MULTICAST = IPv4Network("224.0.0.0/4")


def is_martian_source(address: IPv4Address) -> bool:
    return any(address in net for net in MARTIAN_SOURCES)


@dataclass(frozen=True)
class Ipv4Header:
    """The IPv4 fields the pipeline reads, at byte offset ``ETH_HEADER_LEN``."""

    version: int
    ihl: int
    total_length: int
    ttl: int
    protocol: int
    checksum: int
    src: IPv4Address
    dst: IPv4Address

    @classmethod
    def parse(cls, frame: bytes) -> Ipv4Header:
        h = frame[ETH_HEADER_LEN:]
        return cls(
            version=h[0] >> 4,
            ihl=h[0] & 0xF,
            total_length=int.from_bytes(h[2:4], "big"),
            ttl=h[8],
            protocol=h[9],
            checksum=int.from_bytes(h[10:12], "big"),
            src=IPv4Address(h[12:16]),
            dst=IPv4Address(h[16:20]),
        )


def headers_complete(frame: bytes) -> bool:
    """Step 2: is every header the parser needs present in ``frame``?"""
    if len(frame) < ETH_HEADER_LEN:
        return False
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == ETHERTYPE_ARP:
        return len(frame) >= ETH_HEADER_LEN + ARP_HEADER_LEN
    if ethertype == ETHERTYPE_IPV4:
        if len(frame) < ETH_HEADER_LEN + IPV4_MIN_HEADER_LEN:
            return False
        ihl = frame[ETH_HEADER_LEN] & 0xF
        # IHL < 5 is malformed, not short: the parser takes the 20 fixed bytes only.
        return len(frame) >= ETH_HEADER_LEN + 4 * max(ihl, 5)
    return True


def arp_is_ethernet_ipv4(frame: bytes) -> bool:
    arp = frame[ETH_HEADER_LEN:]
    return arp[0:2] == b"\x00\x01" and arp[2:4] == b"\x08\x00" and arp[4] == 6 and arp[5] == 4


@dataclass
class ReferencePipeline:
    """Evaluates frames against a :class:`TableState` and keeps the counters."""

    tables: TableState
    counters: Counters = field(default_factory=Counters)

    def __post_init__(self) -> None:
        self.tables.validate()
        self._lpm: ReferenceLpm[RouteAction] = ReferenceLpm()
        for prefix, action in self.tables.routes.items():
            self._lpm.insert(prefix, action)

    def process(self, frame: bytes, ingress_port: int) -> Outcome:
        """Run one frame through the pipeline, update the counters, return the outcome."""
        outcome = self.decide(frame, ingress_port)
        self.counters.record(ingress_port, len(frame), outcome)
        return outcome

    def decide(self, frame: bytes, ingress_port: int) -> Outcome:
        """The outcome for one frame, without touching the counters."""
        t = self.tables
        if ingress_port != CPU_PORT and not 1 <= ingress_port <= t.num_ports:
            # A frame cannot arrive on a port that does not exist: that is a caller's bug.
            raise ValueError(f"ingress port {ingress_port} is neither 1..{t.num_ports} nor the CPU port")

        # 1. From the CPU port: the controller sends finished frames.
        if ingress_port == CPU_PORT:
            if len(frame) < PACKET_OUT_HEADER_LEN:
                return Drop(DropReason.TRUNCATED)
            egress = int.from_bytes(frame[:PACKET_OUT_HEADER_LEN], "big")
            if not 1 <= egress <= t.num_ports:
                return Drop(DropReason.BAD_PACKET_OUT_PORT)
            return Forward(egress, frame[PACKET_OUT_HEADER_LEN:])

        # 2. Every header the parser needs must be complete.
        if not headers_complete(frame):
            return Drop(DropReason.TRUNCATED)

        # 3. Ethernet destination, then EtherType.
        dst_mac = MacAddress.from_bytes(frame[0:6])
        routable_l2 = dst_mac == t.router_mac(ingress_port)
        if not routable_l2 and not (dst_mac.is_broadcast or dst_mac.is_ipv4_multicast):
            return Drop(DropReason.NOT_FOR_US)
        ethertype = int.from_bytes(frame[12:14], "big")
        if ethertype not in (ETHERTYPE_ARP, ETHERTYPE_IPV4):
            return Drop(DropReason.UNSUPPORTED_ETHERTYPE)

        # 4. ARP for Ethernet/IPv4, broadcast or to our MAC. Other ARP
        #    formats are an unsupported protocol (docs/pipeline.md).
        if ethertype == ETHERTYPE_ARP:
            if not arp_is_ethernet_ipv4(frame):
                return Drop(DropReason.UNSUPPORTED_ETHERTYPE)
            if dst_mac.is_ipv4_multicast:
                return Drop(DropReason.NOT_ROUTABLE_L2)
            return Punt(PuntReason.ARP, ingress_port, frame)

        # 5. IPv4 sanity, in this order.
        ip = Ipv4Header.parse(frame)
        if ip.version != 4:
            return Drop(DropReason.IPV4_VERSION)
        if ip.ihl < 5:
            return Drop(DropReason.IPV4_IHL)
        header_len = 4 * ip.ihl
        if ip.total_length < header_len or ip.total_length > len(frame) - ETH_HEADER_LEN:
            return Drop(DropReason.IPV4_LENGTH)
        if not checksum_ok(frame[ETH_HEADER_LEN : ETH_HEADER_LEN + header_len]):
            return Drop(DropReason.IPV4_CHECKSUM)
        if is_martian_source(ip.src):
            return Drop(DropReason.MARTIAN_SOURCE)

        # 6. For the router itself (before the TTL check).
        if ip.dst in t.local_ips or ip.dst == LIMITED_BROADCAST or ip.dst in LINK_LOCAL_MULTICAST:
            return Punt(PuntReason.LOCAL, ingress_port, frame)
        if ip.dst in MULTICAST:
            return Drop(DropReason.MULTICAST_DESTINATION)
        if not routable_l2:
            return Drop(DropReason.NOT_ROUTABLE_L2)

        # 7. TTL.
        if ip.ttl <= 1:
            return Punt(PuntReason.TTL_EXPIRED, ingress_port, frame)

        # 8. Longest-prefix match on the destination.
        match = self._lpm.lookup(ip.dst)
        if match is None:
            return Punt(PuntReason.NO_ROUTE, ingress_port, frame)
        action = match[1]
        if isinstance(action, NullRoute):
            return Drop(DropReason.NULL_ROUTE)
        nhop = action.ip if isinstance(action, NextHop) else ip.dst
        assert isinstance(action, (NextHop, Direct))

        # 9. Neighbour.
        dmac = t.neighbours.get(nhop)
        if dmac is None:
            return Punt(PuntReason.ARP_MISS, ingress_port, frame)

        # 10. Rewrite. An egress port without a port MAC keeps the frame's
        #     source MAC (the P4 table's miss is NoAction).
        smac = t.port_macs.get(action.port, MacAddress.from_bytes(frame[6:12]))
        return Forward(action.port, rewrite(frame, dmac, smac, ip))


def rewrite(frame: bytes, dmac: MacAddress, smac: MacAddress, ip: Ipv4Header) -> bytes:
    """New MACs, TTL - 1, checksum updated incrementally; options and payload untouched."""
    out = bytearray(frame)
    out[0:6] = dmac.packed
    out[6:12] = smac.packed
    ttl_offset = ETH_HEADER_LEN + 8
    old_word = (ip.ttl << 8) | ip.protocol
    new_word = ((ip.ttl - 1) << 8) | ip.protocol
    out[ttl_offset] = ip.ttl - 1
    new_checksum = incremental_update(ip.checksum, old_word, new_word)
    out[ETH_HEADER_LEN + 10 : ETH_HEADER_LEN + 12] = new_checksum.to_bytes(2, "big")
    return bytes(out)
