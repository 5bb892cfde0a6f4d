"""Random frames and tables for the HDL tests and benchmarks; the reference model judges them.

``FrameMaker`` builds frames that exercise every class of the pipeline
contract (forwarded, each punt reason, each drop reason) plus garbage, so a
soak of random frames covers the decision logic as well as the plumbing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from sim.model import CPU_PORT, Direct, MacAddress, NextHop, NullRoute, TableState
from sim.model.checksum import internet_checksum
from sim.model.codes import ETHERTYPE_ARP, ETHERTYPE_IPV4

BROADCAST = b"\xff" * 6


def port_mac(port: int) -> MacAddress:
    return MacAddress(0x02_00_00_00_00_00 | port)


def example_tables(num_ports: int, seed: int = 1) -> TableState:
    """A small routing table over ``num_ports`` ports, with every route kind and some neighbours."""
    rng = random.Random(seed)
    state = TableState(num_ports=num_ports)
    for port in range(1, num_ports + 1):
        state.port_macs[port] = port_mac(port)
        state.local_ips.add(IPv4Address(f"10.{port}.0.1"))
        state.routes[IPv4Network(f"10.{port}.0.0/16")] = Direct(port)
        state.routes[IPv4Network(f"10.{port}.255.255/32")] = NullRoute()
        gateway = IPv4Address(f"10.{port}.0.254")
        state.neighbours[gateway] = MacAddress(0x0A_00_00_00_00_00 | port << 8 | 254)
        for i in range(4):
            host = IPv4Address(f"10.{port}.{i}.{rng.randrange(2, 250)}")
            state.neighbours[host] = MacAddress(rng.getrandbits(40) << 8)
        state.routes[IPv4Network(f"{20 + port}.0.0.0/8")] = NextHop(gateway, port)
        state.routes[IPv4Network(f"{20 + port}.{port}.0.0/16")] = NextHop(
            IPv4Address(f"10.{port}.0.253"), port
        )  # next hop without a neighbour: ARP_MISS
    state.routes[IPv4Network("0.0.0.0/1")] = NextHop(IPv4Address("10.1.0.254"), 1)
    state.validate()
    return state


def ipv4_frame(
    dst_mac: bytes,
    src: IPv4Address,
    dst: IPv4Address,
    *,
    ttl: int = 64,
    options: bytes = b"",
    payload: bytes = b"",
    protocol: int = 17,
) -> bytes:
    ihl = 5 + len(options) // 4
    total = 4 * ihl + len(payload)
    header = bytearray(
        bytes([0x40 | ihl, 0])
        + total.to_bytes(2, "big")
        + b"\x12\x34\x00\x00"
        + bytes([ttl, protocol])
        + b"\x00\x00"
        + src.packed
        + dst.packed
        + options
    )
    header[10:12] = internet_checksum(bytes(header)).to_bytes(2, "big")
    return dst_mac + b"\x02\xaa\xbb\xcc\xdd\xee" + ETHERTYPE_IPV4.to_bytes(2, "big") + bytes(header) + payload


def arp_frame(dst_mac: bytes, *, op: int = 1) -> bytes:
    body = b"\x00\x01\x08\x00\x06\x04" + op.to_bytes(2, "big") + b"\x02\xaa\xbb\xcc\xdd\xee"
    body += IPv4Address("10.1.0.9").packed + b"\x00" * 6 + IPv4Address("10.1.0.1").packed
    return dst_mac + b"\x02\xaa\xbb\xcc\xdd\xee" + ETHERTYPE_ARP.to_bytes(2, "big") + body


@dataclass
class FrameMaker:
    """Random frames for ``tables``; ``garbage`` is the share of corrupted ones."""

    tables: TableState
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    garbage: float = 0.3
    max_payload: int = 200

    def destinations(self) -> list[IPv4Address]:
        t = self.tables
        picks = list(t.local_ips) + list(t.neighbours)
        for prefix in t.routes:
            picks.append(prefix.network_address + min(prefix.num_addresses - 1, 7))
        picks += [IPv4Address("255.255.255.255"), IPv4Address("224.0.0.5"), IPv4Address("239.1.2.3")]
        picks += [IPv4Address("192.0.2.1"), IPv4Address("198.51.100.7")]
        return picks

    def frame(self, ingress_port: int) -> bytes:
        """A frame as it arrives on ``ingress_port`` (a packet_out frame on the CPU port)."""
        rng = self.rng
        if ingress_port == CPU_PORT:
            egress = rng.choice([*range(1, self.tables.num_ports + 1), 0, self.tables.num_ports + 1])
            inner = self.frame(rng.randrange(1, self.tables.num_ports + 1))
            return egress.to_bytes(2, "big") + inner
        mac = self.tables.router_mac(ingress_port)
        dst_mac = rng.choice(
            [mac.packed if mac else BROADCAST] * 6 + [BROADCAST, b"\x01\x00\x5e\x00\x00\x05"]
        )
        if rng.random() < 0.1:
            frame = arp_frame(dst_mac)
        else:
            options = bytes(rng.getrandbits(8) for _ in range(4 * rng.choice([0, 0, 0, 1, 10])))
            payload = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, self.max_payload)))
            src = IPv4Address(rng.choice(["10.9.9.9", "192.168.1.1", "127.0.0.1", "172.16.0.5"]))
            frame = ipv4_frame(
                dst_mac,
                src,
                rng.choice(self.destinations()),
                ttl=rng.choice([64, 64, 2, 1, 0]),
                options=options,
                payload=payload,
            )
            if rng.random() < 0.2:
                frame += bytes(rng.randrange(1, 20))  # Ethernet padding
        if rng.random() < self.garbage:
            frame = self.corrupt(frame)
        return frame

    def corrupt(self, frame: bytes) -> bytes:
        rng = self.rng
        out = bytearray(frame)
        kind = rng.randrange(6)
        if kind == 0:
            return bytes(out[: rng.randrange(0, min(len(out), 60))])  # truncated
        if kind == 1:
            return bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 120)))  # noise
        if kind == 2 and len(out) > 14:
            out[14] = rng.getrandbits(8)  # version / IHL
        elif kind == 3 and len(out) > 17:
            out[16:18] = rng.getrandbits(16).to_bytes(2, "big")  # total length
        elif kind == 4 and len(out) > 14:
            index = rng.randrange(14, len(out))
            out[index] ^= 1 << rng.randrange(8)  # a flipped bit (checksum, mostly)
        else:
            out[12:14] = rng.choice([b"\x86\xdd", b"\x08\x06", b"\x81\x00"])
        return bytes(out)


def small_tables(num_ports: int) -> TableState:
    """A few entries of every kind: quick to install in the slow Amaranth simulator."""
    state = TableState(num_ports=num_ports)
    for port in range(1, num_ports + 1):
        state.port_macs[port] = port_mac(port)
        state.routes[IPv4Network(f"10.{port}.0.0/16")] = Direct(port)
        state.neighbours[IPv4Address(f"10.{port}.0.7")] = MacAddress(0x0A_00_00_00_00_07 | port << 8)
    state.local_ips.add(IPv4Address("10.1.0.1"))
    state.routes[IPv4Network("20.1.0.0/16")] = NextHop(IPv4Address("10.1.0.7"), 1)
    state.routes[IPv4Network("30.1.0.0/16")] = NextHop(IPv4Address("10.1.0.99"), 1)
    state.routes[IPv4Network("10.1.255.255/32")] = NullRoute()
    state.validate()
    return state
