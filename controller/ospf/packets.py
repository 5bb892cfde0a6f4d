"""OSPF packets (RFC 2328 Appendix A.3): encoding and decoding, header checksum, authentication.

Decoding validates everything that does not need protocol state (version,
lengths, checksum, authentication); failures raise ``MalformedPacket`` with
the reason the receiver counts.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from controller.ospf.checksum import lsa_checksum_ok, packet_checksum
from controller.ospf.constants import (
    DD_FLAG_I,
    DD_FLAG_M,
    DD_FLAG_MS,
    HEADER_LENGTH,
    LSA_HEADER_LENGTH,
    VERSION,
    AuthType,
    PacketType,
)
from controller.ospf.drops import DropReason, MalformedPacket
from controller.ospf.lsa import Lsa, LsaHeader, LsaKey

_HEADER = struct.Struct("!BBH4s4sHH8s")
_HELLO = struct.Struct("!4sHBBI4s4s")
_DD = struct.Struct("!HBBI")
_REQUEST = struct.Struct("!I4s4s")


@dataclass(frozen=True, slots=True)
class Authentication:
    """Null (type 0) or simple password (type 1, §D.3) authentication."""

    type: AuthType = AuthType.NULL
    key: bytes = b""

    def __post_init__(self) -> None:
        if len(self.key) > 8:
            raise ValueError("a simple password is at most 8 bytes")

    @property
    def data(self) -> bytes:
        return self.key.ljust(8, b"\0") if self.type == AuthType.SIMPLE else bytes(8)


@dataclass(frozen=True, slots=True)
class Hello:
    network_mask: IPv4Address
    hello_interval: int
    options: int
    priority: int
    dead_interval: int
    designated_router: IPv4Address
    backup_designated_router: IPv4Address
    neighbors: tuple[IPv4Address, ...] = ()

    TYPE = PacketType.HELLO

    def encode_body(self) -> bytes:
        fixed = _HELLO.pack(
            self.network_mask.packed,
            self.hello_interval,
            self.options,
            self.priority,
            self.dead_interval,
            self.designated_router.packed,
            self.backup_designated_router.packed,
        )
        return fixed + b"".join(n.packed for n in self.neighbors)

    @classmethod
    def decode_body(cls, body: bytes) -> Hello:
        if len(body) < _HELLO.size or (len(body) - _HELLO.size) % 4:
            raise MalformedPacket(DropReason.BAD_LENGTH, "hello")
        mask, hello, options, priority, dead, dr, bdr = _HELLO.unpack_from(body)
        neighbors = tuple(IPv4Address(body[i : i + 4]) for i in range(_HELLO.size, len(body), 4))
        return cls(
            IPv4Address(mask), hello, options, priority, dead, IPv4Address(dr), IPv4Address(bdr), neighbors
        )


@dataclass(frozen=True, slots=True)
class DatabaseDescription:
    mtu: int
    options: int
    flags: int
    sequence: int  # unsigned 32-bit
    headers: tuple[LsaHeader, ...] = ()

    TYPE = PacketType.DATABASE_DESCRIPTION

    @property
    def init(self) -> bool:
        return bool(self.flags & DD_FLAG_I)

    @property
    def more(self) -> bool:
        return bool(self.flags & DD_FLAG_M)

    @property
    def master(self) -> bool:
        return bool(self.flags & DD_FLAG_MS)

    def encode_body(self) -> bytes:
        fixed = _DD.pack(self.mtu, self.options, self.flags, self.sequence)
        return fixed + b"".join(h.encode() for h in self.headers)

    @classmethod
    def decode_body(cls, body: bytes) -> DatabaseDescription:
        if len(body) < _DD.size or (len(body) - _DD.size) % LSA_HEADER_LENGTH:
            raise MalformedPacket(DropReason.BAD_LENGTH, "database description")
        mtu, options, flags, sequence = _DD.unpack_from(body)
        headers = _decode_headers(body, _DD.size)
        return cls(mtu, options, flags & (DD_FLAG_I | DD_FLAG_M | DD_FLAG_MS), sequence, headers)


@dataclass(frozen=True, slots=True)
class LinkStateRequest:
    requests: tuple[LsaKey, ...]

    TYPE = PacketType.LINK_STATE_REQUEST

    def encode_body(self) -> bytes:
        return b"".join(_REQUEST.pack(k.type, k.ls_id.packed, k.adv_router.packed) for k in self.requests)

    @classmethod
    def decode_body(cls, body: bytes) -> LinkStateRequest:
        if len(body) % _REQUEST.size:
            raise MalformedPacket(DropReason.BAD_LENGTH, "link state request")
        requests = []
        for offset in range(0, len(body), _REQUEST.size):
            ls_type, ls_id, adv = _REQUEST.unpack_from(body, offset)
            requests.append(LsaKey(ls_type, IPv4Address(ls_id), IPv4Address(adv)))
        return cls(tuple(requests))


@dataclass(frozen=True, slots=True)
class LinkStateUpdate:
    lsas: tuple[Lsa, ...]
    #: LSAs that were skipped while decoding (bad checksum, unknown type, bad body), by reason.
    rejected: tuple[DropReason, ...] = field(default=(), compare=False)

    TYPE = PacketType.LINK_STATE_UPDATE

    def encode_body(self) -> bytes:
        return struct.pack("!I", len(self.lsas)) + b"".join(lsa.encode() for lsa in self.lsas)

    @classmethod
    def decode_body(cls, body: bytes) -> LinkStateUpdate:
        if len(body) < 4:
            raise MalformedPacket(DropReason.BAD_LENGTH, "link state update")
        (count,) = struct.unpack_from("!I", body)
        lsas: list[Lsa] = []
        rejected: list[DropReason] = []
        offset = 4
        for _ in range(count):
            header = LsaHeader.decode(body, offset)  # raises TRUNCATED: the rest is unusable
            end = offset + header.length
            if header.length < LSA_HEADER_LENGTH or end > len(body):
                raise MalformedPacket(DropReason.BAD_LENGTH, f"LSA length {header.length}")
            if not lsa_checksum_ok(body[offset:end]):
                rejected.append(DropReason.BAD_LSA_CHECKSUM)
            else:
                try:
                    lsas.append(Lsa.decode(body, offset)[0])
                except MalformedPacket as error:  # a bad LSA does not spoil its neighbours
                    rejected.append(error.reason)
            offset = end
        return cls(tuple(lsas), tuple(rejected))


@dataclass(frozen=True, slots=True)
class LinkStateAck:
    headers: tuple[LsaHeader, ...]

    TYPE = PacketType.LINK_STATE_ACK

    def encode_body(self) -> bytes:
        return b"".join(h.encode() for h in self.headers)

    @classmethod
    def decode_body(cls, body: bytes) -> LinkStateAck:
        if len(body) % LSA_HEADER_LENGTH:
            raise MalformedPacket(DropReason.BAD_LENGTH, "link state ack")
        return cls(_decode_headers(body, 0))


Body = Hello | DatabaseDescription | LinkStateRequest | LinkStateUpdate | LinkStateAck

_BODIES: dict[int, type[Body]] = {
    PacketType.HELLO: Hello,
    PacketType.DATABASE_DESCRIPTION: DatabaseDescription,
    PacketType.LINK_STATE_REQUEST: LinkStateRequest,
    PacketType.LINK_STATE_UPDATE: LinkStateUpdate,
    PacketType.LINK_STATE_ACK: LinkStateAck,
}


@dataclass(frozen=True, slots=True)
class Packet:
    router_id: IPv4Address
    area_id: IPv4Address
    body: Body

    def encode(self, auth: Authentication = Authentication()) -> bytes:
        body = self.body.encode_body()
        header = _HEADER.pack(
            VERSION,
            self.body.TYPE,
            HEADER_LENGTH + len(body),
            self.router_id.packed,
            self.area_id.packed,
            0,
            auth.type,
            bytes(8),
        )
        checksum = packet_checksum(header + body)
        header = header[:12] + struct.pack("!H", checksum) + header[14:16] + auth.data
        return header + body


def decode(data: bytes, auth: Authentication = Authentication()) -> Packet:
    """One OSPF packet (the IP payload); bytes past the OSPF length are ignored, as IP padding."""
    if len(data) < HEADER_LENGTH:
        raise MalformedPacket(DropReason.TRUNCATED, f"{len(data)} bytes")
    version, packet_type, length, router_id, area_id, checksum, auth_type, auth_data = _HEADER.unpack_from(
        data
    )
    if version != VERSION:
        raise MalformedPacket(DropReason.BAD_VERSION, f"version {version}")
    if length < HEADER_LENGTH or length > len(data):
        raise MalformedPacket(DropReason.BAD_LENGTH, f"length {length} of {len(data)} bytes")
    body_type = _BODIES.get(packet_type)
    if body_type is None:
        raise MalformedPacket(DropReason.BAD_TYPE, f"type {packet_type}")
    packet = bytes(data[:length])
    if packet_checksum(packet) != checksum:
        raise MalformedPacket(DropReason.BAD_CHECKSUM, f"checksum {checksum:#06x}")
    if auth_type != auth.type:
        raise MalformedPacket(DropReason.BAD_AUTH_TYPE, f"authentication type {auth_type}")
    if auth.type == AuthType.SIMPLE and auth_data != auth.data:
        raise MalformedPacket(DropReason.BAD_AUTH, "password")
    body = body_type.decode_body(packet[HEADER_LENGTH:])
    return Packet(IPv4Address(router_id), IPv4Address(area_id), body)


def _decode_headers(data: bytes, offset: int) -> tuple[LsaHeader, ...]:
    return tuple(LsaHeader.decode(data, o) for o in range(offset, len(data), LSA_HEADER_LENGTH))
