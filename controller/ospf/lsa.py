"""Link-state advertisements: the header, Router- and Network-LSA bodies, and RFC 2328 §13.1 ordering."""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from ipaddress import IPv4Address
from typing import NamedTuple

from controller.ospf.checksum import lsa_checksum
from controller.ospf.constants import (
    LSA_HEADER_LENGTH,
    MAX_AGE,
    MAX_AGE_DIFF,
    LsaType,
    RouterLinkType,
)
from controller.ospf.drops import DropReason, MalformedPacket

_HEADER = struct.Struct("!HBB4s4siHH")
_ROUTER_LINK = struct.Struct("!4s4sBBH")


class LsaKey(NamedTuple):
    """What identifies an LSA in the database (§12.1)."""

    type: int
    ls_id: IPv4Address
    adv_router: IPv4Address

    def __str__(self) -> str:
        return f"type-{self.type} {self.ls_id} adv {self.adv_router}"


@dataclass(frozen=True, slots=True)
class LsaHeader:
    age: int
    options: int
    type: int
    ls_id: IPv4Address
    adv_router: IPv4Address
    seq: int  # signed 32-bit (§12.1.6)
    checksum: int
    length: int

    @property
    def key(self) -> LsaKey:
        return LsaKey(self.type, self.ls_id, self.adv_router)

    def encode(self) -> bytes:
        return _HEADER.pack(
            self.age,
            self.options,
            self.type,
            self.ls_id.packed,
            self.adv_router.packed,
            self.seq,
            self.checksum,
            self.length,
        )

    @classmethod
    def decode(cls, data: bytes, offset: int = 0) -> LsaHeader:
        if len(data) - offset < LSA_HEADER_LENGTH:
            raise MalformedPacket(DropReason.TRUNCATED, "LSA header")
        age, options, ls_type, ls_id, adv, seq, checksum, length = _HEADER.unpack_from(data, offset)
        return cls(age, options, ls_type, IPv4Address(ls_id), IPv4Address(adv), seq, checksum, length)


@dataclass(frozen=True, slots=True)
class RouterLink:
    link_id: IPv4Address
    link_data: IPv4Address
    type: RouterLinkType
    metric: int


@dataclass(frozen=True, slots=True)
class RouterLsaBody:
    flags: int
    links: tuple[RouterLink, ...]

    def encode(self) -> bytes:
        parts = [struct.pack("!BBH", self.flags, 0, len(self.links))]
        parts += [
            _ROUTER_LINK.pack(k.link_id.packed, k.link_data.packed, k.type, 0, k.metric) for k in self.links
        ]
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> RouterLsaBody:
        if len(data) < 4:
            raise MalformedPacket(DropReason.BAD_LSA, "router-LSA body")
        flags, _, count = struct.unpack_from("!BBH", data)
        links, offset = [], 4
        for _ in range(count):
            if len(data) - offset < _ROUTER_LINK.size:
                raise MalformedPacket(DropReason.BAD_LSA, "router-LSA link")
            link_id, link_data, link_type, tos_count, metric = _ROUTER_LINK.unpack_from(data, offset)
            offset += _ROUTER_LINK.size + 4 * tos_count  # TOS metrics are obsolete (§A.4.2): skipped
            if link_type not in RouterLinkType._value2member_map_:
                raise MalformedPacket(DropReason.BAD_LSA, f"router link type {link_type}")
            links.append(
                RouterLink(IPv4Address(link_id), IPv4Address(link_data), RouterLinkType(link_type), metric)
            )
        if offset > len(data):
            raise MalformedPacket(DropReason.BAD_LSA, "router-LSA TOS entries")
        return cls(flags, tuple(links))


@dataclass(frozen=True, slots=True)
class NetworkLsaBody:
    mask: IPv4Address
    attached: tuple[IPv4Address, ...]

    def encode(self) -> bytes:
        return self.mask.packed + b"".join(router.packed for router in self.attached)

    @classmethod
    def decode(cls, data: bytes) -> NetworkLsaBody:
        if len(data) < 4 or len(data) % 4:
            raise MalformedPacket(DropReason.BAD_LSA, "network-LSA body")
        routers = tuple(IPv4Address(data[i : i + 4]) for i in range(4, len(data), 4))
        return cls(IPv4Address(data[:4]), routers)


@dataclass(frozen=True, slots=True)
class UninterpretedBody:
    """Summary (3, 4) and AS-external (5) LSAs: stored and flooded, not used by our calculation."""

    data: bytes

    def encode(self) -> bytes:
        return self.data


Body = RouterLsaBody | NetworkLsaBody | UninterpretedBody

#: LS types we accept into the database (§A.4.1); anything else is an unknown type.
KNOWN_TYPES = frozenset({1, 2, 3, 4, 5})


@dataclass(frozen=True, slots=True)
class Lsa:
    header: LsaHeader
    body: Body
    payload: bytes  # the encoded body, what the checksum covers after the header

    @property
    def key(self) -> LsaKey:
        return self.header.key

    @classmethod
    def build(
        cls, ls_type: LsaType, ls_id: IPv4Address, adv_router: IPv4Address, seq: int, options: int, body: Body
    ) -> Lsa:
        """A new instance with age 0, its length and Fletcher checksum filled in."""
        payload = body.encode()
        header = LsaHeader(0, options, ls_type, ls_id, adv_router, seq, 0, LSA_HEADER_LENGTH + len(payload))
        checksum = lsa_checksum(header.encode() + payload)
        return cls(replace(header, checksum=checksum), body, payload)

    def encode(self) -> bytes:
        return self.header.encode() + self.payload

    def with_age(self, age: int) -> Lsa:
        return replace(self, header=replace(self.header, age=min(age, MAX_AGE)))

    @classmethod
    def decode(cls, data: bytes, offset: int = 0) -> tuple[Lsa, int]:
        """One LSA starting at ``offset``; returns it and the offset after it.

        Raises ``MalformedPacket`` for a length that runs past ``data`` (the rest
        of the packet is unusable) and for a body that does not parse.
        """
        header = LsaHeader.decode(data, offset)
        if header.length < LSA_HEADER_LENGTH or offset + header.length > len(data):
            raise MalformedPacket(DropReason.BAD_LENGTH, f"LSA length {header.length}")
        payload = bytes(data[offset + LSA_HEADER_LENGTH : offset + header.length])
        if header.type == LsaType.ROUTER:
            body: Body = RouterLsaBody.decode(payload)
        elif header.type == LsaType.NETWORK:
            body = NetworkLsaBody.decode(payload)
        elif header.type in KNOWN_TYPES:
            body = UninterpretedBody(payload)
        else:
            raise MalformedPacket(DropReason.UNKNOWN_LSA_TYPE, f"LS type {header.type}")
        return cls(header, body, payload), offset + header.length


def compare(a: LsaHeader, b: LsaHeader) -> int:
    """RFC 2328 §13.1: > 0 when ``a`` is the more recent instance, < 0 when ``b`` is, 0 when the same.

    Ages must be current ages (see ``Lsdb.current``).
    """
    if a.seq != b.seq:
        return 1 if a.seq > b.seq else -1
    if a.checksum != b.checksum:
        return 1 if a.checksum > b.checksum else -1
    a_max, b_max = a.age >= MAX_AGE, b.age >= MAX_AGE
    if a_max != b_max:
        return 1 if a_max else -1
    if abs(a.age - b.age) > MAX_AGE_DIFF:
        return 1 if a.age < b.age else -1
    return 0


def same_contents(a: Lsa, b: Lsa) -> bool:
    """§13.2: whether installing ``b`` over ``a`` changes what the routing calculation sees."""
    return (
        a.header.options == b.header.options
        and (a.header.age >= MAX_AGE) == (b.header.age >= MAX_AGE)
        and a.payload == b.payload
    )
