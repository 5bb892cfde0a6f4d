"""Wire formats the controller reads and writes: Ethernet, ARP, IPv4, ICMP.

Parsers raise :class:`MalformedPacket` (never anything else) on input they
cannot make sense of; callers count it and move on. Builders produce
finished bytes with checksums filled in.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

from sim.model.checksum import checksum_ok, incremental_update, internet_checksum
from sim.model.codes import ARP_HEADER_LEN, ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4
from sim.model.tables import MacAddress

ARP_REQUEST = 1
ARP_REPLY = 2
IPPROTO_ICMP = 1
DEFAULT_TTL = 64

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACHABLE = 3
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11
ICMP_ERROR_TYPES = frozenset({3, 4, 5, 11, 12})  # RFC 792/1812: never answer these with an error

ZERO_MAC = MacAddress(0)


class MalformedPacket(ValueError):
    """The bytes are not a packet of the expected kind."""


# --- Ethernet ------------------------------------------------------------------


@dataclass(frozen=True)
class Ethernet:
    dst: MacAddress
    src: MacAddress
    ethertype: int
    payload: bytes

    @classmethod
    def parse(cls, frame: bytes) -> Ethernet:
        if len(frame) < ETH_HEADER_LEN:
            raise MalformedPacket(f"Ethernet frame of {len(frame)} bytes")
        return cls(
            MacAddress.from_bytes(frame[0:6]),
            MacAddress.from_bytes(frame[6:12]),
            int.from_bytes(frame[12:14], "big"),
            frame[ETH_HEADER_LEN:],
        )


def parse_frame(frame: bytes, ethertype: int) -> Ethernet:
    """An Ethernet frame that must carry ``ethertype``."""
    eth = Ethernet.parse(frame)
    if eth.ethertype != ethertype:
        raise MalformedPacket(f"EtherType {eth.ethertype:#06x}, expected {ethertype:#06x}")
    return eth


def ethernet(dst: MacAddress, src: MacAddress, ethertype: int, payload: bytes) -> bytes:
    return dst.packed + src.packed + ethertype.to_bytes(2, "big") + payload


# --- ARP -----------------------------------------------------------------------

_ARP = struct.Struct("!HHBBH6s4s6s4s")


@dataclass(frozen=True)
class Arp:
    """An Ethernet/IPv4 ARP packet (RFC 826)."""

    op: int
    sender_mac: MacAddress
    sender_ip: IPv4Address
    target_mac: MacAddress
    target_ip: IPv4Address

    @classmethod
    def parse(cls, payload: bytes) -> Arp:
        if len(payload) < ARP_HEADER_LEN:
            raise MalformedPacket(f"ARP packet of {len(payload)} bytes")
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = _ARP.unpack_from(payload)
        if (htype, ptype, hlen, plen) != (1, ETHERTYPE_IPV4, 6, 4):
            raise MalformedPacket(f"ARP for htype {htype} ptype {ptype:#06x} hlen {hlen} plen {plen}")
        if op not in (ARP_REQUEST, ARP_REPLY):
            raise MalformedPacket(f"ARP opcode {op}")
        return cls(
            op, MacAddress.from_bytes(sha), IPv4Address(spa), MacAddress.from_bytes(tha), IPv4Address(tpa)
        )

    def pack(self) -> bytes:
        return _ARP.pack(
            1,
            ETHERTYPE_IPV4,
            6,
            4,
            self.op,
            self.sender_mac.packed,
            self.sender_ip.packed,
            self.target_mac.packed,
            self.target_ip.packed,
        )


def arp_frame(eth_dst: MacAddress, arp: Arp) -> bytes:
    return ethernet(eth_dst, arp.sender_mac, ETHERTYPE_ARP, arp.pack())


# --- IPv4 ----------------------------------------------------------------------


@dataclass(frozen=True)
class Ipv4:
    """An IPv4 datagram, checked enough to answer it: header complete, checksum right."""

    header: bytes  # options included
    payload: bytes  # up to the total length; link padding removed
    tos: int
    identification: int
    flags_fragment: int
    ttl: int
    protocol: int
    src: IPv4Address
    dst: IPv4Address

    @property
    def fragment_offset(self) -> int:
        return self.flags_fragment & 0x1FFF

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags_fragment & 0x2000)

    @property
    def options(self) -> bytes:
        return self.header[20:]

    @classmethod
    def parse(cls, data: bytes) -> Ipv4:
        if len(data) < 20:
            raise MalformedPacket(f"IPv4 header of {len(data)} bytes")
        version, ihl = data[0] >> 4, data[0] & 0xF
        if version != 4 or ihl < 5:
            raise MalformedPacket(f"IPv4 version {version} IHL {ihl}")
        header_len = 4 * ihl
        total_length = int.from_bytes(data[2:4], "big")
        if not header_len <= total_length <= len(data):
            raise MalformedPacket(f"IPv4 total length {total_length} for {len(data)} bytes")
        header = data[:header_len]
        if not checksum_ok(header):
            raise MalformedPacket("IPv4 header checksum")
        return cls(
            header=header,
            payload=data[header_len:total_length],
            tos=data[1],
            identification=int.from_bytes(data[4:6], "big"),
            flags_fragment=int.from_bytes(data[6:8], "big"),
            ttl=data[8],
            protocol=data[9],
            src=IPv4Address(data[12:16]),
            dst=IPv4Address(data[16:20]),
        )


def ipv4_datagram(
    src: IPv4Address,
    dst: IPv4Address,
    protocol: int,
    payload: bytes,
    *,
    ttl: int = DEFAULT_TTL,
    tos: int = 0,
    identification: int = 0,
    options: bytes = b"",
) -> bytes:
    """A complete datagram (DF clear, not fragmented) with its header checksum."""
    if len(options) % 4 or len(options) > 40:
        raise ValueError(f"IPv4 options must be a multiple of 4 bytes, at most 40 (got {len(options)})")
    ihl = 5 + len(options) // 4
    header = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl,
            tos,
            4 * ihl + len(payload),
            identification,
            0,
            ttl,
            protocol,
            0,
            src.packed,
            dst.packed,
        )
        + options
    )
    header[10:12] = internet_checksum(bytes(header)).to_bytes(2, "big")
    return bytes(header) + payload


def forwarded_datagram(ip_bytes: bytes) -> bytes:
    """What the data plane's rewrite does to the IP part: TTL - 1, checksum updated (RFC 1624).

    ``ip_bytes`` starts at the IPv4 header; trailing link padding travels unchanged.
    """
    ttl, protocol = ip_bytes[8], ip_bytes[9]
    old_checksum = int.from_bytes(ip_bytes[10:12], "big")
    new_checksum = incremental_update(old_checksum, (ttl << 8) | protocol, ((ttl - 1) << 8) | protocol)
    return ip_bytes[:8] + bytes([ttl - 1, protocol]) + new_checksum.to_bytes(2, "big") + ip_bytes[12:]


# --- ICMP ----------------------------------------------------------------------


@dataclass(frozen=True)
class Icmp:
    type: int
    code: int
    rest: bytes  # the 4 bytes after the checksum (identifier/sequence, unused, ...)
    body: bytes

    @classmethod
    def parse(cls, data: bytes) -> Icmp:
        if len(data) < 8:
            raise MalformedPacket(f"ICMP message of {len(data)} bytes")
        if internet_checksum(data) != 0:
            raise MalformedPacket("ICMP checksum")
        return cls(data[0], data[1], data[4:8], data[8:])

    def pack(self) -> bytes:
        message = bytearray(bytes([self.type, self.code, 0, 0]) + self.rest + self.body)
        message[2:4] = internet_checksum(bytes(message)).to_bytes(2, "big")
        return bytes(message)


def frame_with_ip(dst: MacAddress, src: MacAddress, ip_bytes: bytes) -> bytes:
    return ethernet(dst, src, ETHERTYPE_IPV4, ip_bytes)
