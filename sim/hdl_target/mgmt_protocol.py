"""The in-band management protocol: frames the host and the board exchange.

Frames of EtherType 0x88B5 (IEEE 802 "local experimental 1") on the
management port carry management-bus reads and writes, capability queries
and the CPU port's packets. Layout (network byte order)::

    Ethernet  dst(6) src(6) ethertype=0x88B5
    +0  version   u8   = 1
    +1  opcode    u8   (Opcode)
    +2  sequence  u16  echoed in the response
    +4  status    u8   (Status; 0 in requests)
    +5  reserved  u8   = 0
    +6  length    u16  bytes of body that follow
    +8  body

Every request gets exactly one response with the same opcode and sequence;
a malformed or unknown request gets an error status, never silence. The
device also sends unsolicited PACKET_IN frames (sequence counts them, so the
host can see losses). See docs/management-protocol.md.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

ETHERTYPE_MGMT = 0x88B5
VERSION = 1
HEADER = struct.Struct("!BBHBBH")
ADDR_COUNT = struct.Struct("!IH")
#: Words per READ/WRITE: keeps a response inside a 1500-byte payload.
MAX_WORDS = 256


class Opcode(enum.IntEnum):
    READ = 0x01  # body: addr u32, count u16 -> response: addr u32, count u16, count x u32
    WRITE = 0x02  # body: addr u32, count u16, count x u32 -> response: addr u32, count u16
    INFO = 0x03  # body: - -> response: DeviceInfo
    PACKET_OUT = 0x10  # body: packet_out header + frame -> response: empty
    PACKET_IN = 0x11  # device -> host only; body: packet_in header + frame


class Status(enum.IntEnum):
    OK = 0
    BAD_VERSION = 1
    BAD_OPCODE = 2
    MALFORMED = 3  # body length or count inconsistent
    BUS_ERROR = 4  # an address no subordinate answers
    TOO_LONG = 5  # count > MAX_WORDS


class MgmtProtocolError(Exception):
    """A frame that is not a valid management message."""


@dataclass(frozen=True)
class Message:
    opcode: int
    sequence: int
    status: int = Status.OK
    body: bytes = b""

    def encode(self) -> bytes:
        return HEADER.pack(VERSION, self.opcode, self.sequence, self.status, 0, len(self.body)) + self.body

    @classmethod
    def decode(cls, payload: bytes) -> Message:
        """Decode an Ethernet payload (after the EtherType); trailing padding is allowed."""
        if len(payload) < HEADER.size:
            raise MgmtProtocolError(f"management header needs {HEADER.size} bytes, got {len(payload)}")
        version, opcode, sequence, status, _reserved, length = HEADER.unpack_from(payload)
        if version != VERSION:
            raise MgmtProtocolError(f"unsupported management protocol version {version}")
        body = payload[HEADER.size : HEADER.size + length]
        if len(body) != length:
            raise MgmtProtocolError(f"body length {length} but only {len(body)} bytes present")
        return cls(opcode, sequence, status, body)


def read_request(sequence: int, addr: int, count: int) -> Message:
    _check_count(count)
    return Message(Opcode.READ, sequence, body=ADDR_COUNT.pack(addr, count))


def write_request(sequence: int, addr: int, words: list[int]) -> Message:
    _check_count(len(words))
    return Message(Opcode.WRITE, sequence, body=ADDR_COUNT.pack(addr, len(words)) + _words(words))


def decode_words(body: bytes) -> tuple[int, list[int]]:
    """(addr, words) of a READ response body."""
    if len(body) < ADDR_COUNT.size:
        raise MgmtProtocolError("READ response too short")
    addr, count = ADDR_COUNT.unpack_from(body)
    data = body[ADDR_COUNT.size :]
    if len(data) != 4 * count:
        raise MgmtProtocolError(f"READ response says {count} words but carries {len(data)} bytes")
    return addr, list(struct.unpack(f"!{count}I", data))


@dataclass(frozen=True)
class DeviceInfo:
    """The INFO response: what this build of the pipeline is."""

    num_ports: int
    datapath_bytes: int
    capacities: dict[str, int]  # P4 table name -> entries

    _FIXED = struct.Struct("!BBB")

    def encode(self) -> bytes:
        out = self._FIXED.pack(self.num_ports, self.datapath_bytes, len(self.capacities))
        for name, size in self.capacities.items():
            raw = name.encode()
            out += struct.pack("!B", len(raw)) + raw + struct.pack("!I", size)
        return out

    @classmethod
    def decode(cls, body: bytes) -> DeviceInfo:
        try:
            num_ports, width, count = cls._FIXED.unpack_from(body)
            offset = cls._FIXED.size
            capacities = {}
            for _ in range(count):
                (length,) = struct.unpack_from("!B", body, offset)
                name = body[offset + 1 : offset + 1 + length].decode()
                (size,) = struct.unpack_from("!I", body, offset + 1 + length)
                capacities[name] = size
                offset += 1 + length + 4
        except (struct.error, UnicodeDecodeError) as exc:
            raise MgmtProtocolError(f"malformed INFO body: {exc}") from None
        return cls(num_ports, width, capacities)


def _words(words: list[int]) -> bytes:
    return struct.pack(f"!{len(words)}I", *words)


def _check_count(count: int) -> None:
    if not 1 <= count <= MAX_WORDS:
        raise ValueError(f"word count must be 1..{MAX_WORDS}, got {count}")
