"""The corpus through a real router: the Linux kernel, forwarding between network namespaces.

For each table state of the corpus a namespace becomes the router (ip_forward=1,
one veth per port whose MAC is the port's router MAC, the same routes, the
router's addresses, static neighbour entries ``nud permanent``) and every port
gets a host namespace holding the veth peer. Each vector's frame is sent from
its ingress host with a raw AF_PACKET socket and the egress hosts are watched:

* a vector the contract forwards must come out of the same port, byte for
  byte what the model produced (MACs, TTL, checksum, options, payload), except
  where the kernel differs from the contract by design (KERNEL_DIFFERENCES),
  and then the frame is compared everywhere the difference does not reach;
* a vector the contract drops must not come out of any port;
* a vector the contract punts for TTL expiry, no route or an unresolved next
  hop: Linux, being its own control plane, answers itself, and what it sends
  instead (ICMP errors, ARP requests) is checked (KERNEL_INSTEAD_OF_PUNT);
* a vector the kernel cannot take part in (ARP and local delivery, which Linux
  consumes; packet_out: Linux has no CPU port) is listed in NOT_COMPARED with
  the reason, and a test checks that every vector of the corpus falls in one
  of these classes, so a new class of vector cannot be silently ignored.

The router's sysctls switch off what Linux does beyond the contract where a
switch exists (ICMP redirects, reverse-path filtering, answering ARP, IPv6);
see ROUTER_SYSCTLS.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

import pytest
from scapy.utils import checksum as scapy_checksum

from sim.model import (
    CPU_PORT,
    Direct,
    Drop,
    DropReason,
    Forward,
    NextHop,
    NullRoute,
    Punt,
    PuntReason,
    TableState,
)
from sim.netns import PACKET_OUTGOING, Namespace, NetnsLab
from sim.vectors import Vector

pytestmark = pytest.mark.network

ETH = 14
MTU = 9000  # the corpus has 9000-byte frames
RECEIVE_TIMEOUT_S = 2.0
#: How long a port must stay quiet after a frame the kernel must not forward.
QUIET_S = 0.3

ROUTER_SYSCTLS: dict[str, str | int] = {
    "net.ipv4.ip_forward": 1,
    # The contract never sends ICMP redirects, even when routing back out of the ingress port.
    "net.ipv4.conf.all.send_redirects": 0,
    "net.ipv4.conf.default.send_redirects": 0,
    # The contract has no reverse-path check.
    "net.ipv4.conf.all.rp_filter": 0,
    "net.ipv4.conf.default.rp_filter": 0,
    # The contract does not treat one of the router's own addresses as a martian source.
    "net.ipv4.conf.all.accept_local": 1,
    "net.ipv4.conf.default.accept_local": 1,
    # ARP is the controller's job; the kernel must not answer it (8: reply to nothing).
    "net.ipv4.conf.all.arp_ignore": 8,
    "net.ipv4.conf.default.arp_ignore": 8,
    # Stated rather than inherited: source-routed packets are refused (see KERNEL_DIFFERENCES).
    "net.ipv4.conf.all.accept_source_route": 0,
    "net.ipv4.conf.default.accept_source_route": 0,
    # No IPv6 chatter (router solicitations, DAD) on the test links.
    "net.ipv6.conf.all.disable_ipv6": 1,
    "net.ipv6.conf.default.disable_ipv6": 1,
}
HOST_SYSCTLS: dict[str, str | int] = {
    "net.ipv6.conf.all.disable_ipv6": 1,
    "net.ipv6.conf.default.disable_ipv6": 1,
}

#: Vectors the kernel is not run on, by class, and why.
NOT_COMPARED: dict[str, str] = {
    "packet-out": "Linux has no CPU port: packet_out is the controller's way into the data plane",
    "punt:ARP": "ARP goes to the controller under the contract; in Linux the kernel's own ARP module "
    "takes it (its replies are switched off here, arp_ignore=8, so it stays silent)",
    "punt:LOCAL": "Linux delivers to its own sockets (answering echo requests, or with a port or "
    "protocol unreachable, or nothing for broadcasts); the contract punts",
    "runt": "a packet socket cannot send a frame shorter than the 14-byte Ethernet header as it is "
    "(the kernel pads the header with zeros)",
}

#: Punts where Linux, being its own control plane, reacts visibly: what it sends instead,
#: checked on every such vector (see kernel_reaction).
KERNEL_INSTEAD_OF_PUNT: dict[str, str] = {
    "punt:TTL_EXPIRED": "Linux sends ICMP Time Exceeded to the source itself. It looks the route up "
    "before it checks the TTL, so with no route it sends Destination Unreachable instead, and a null "
    "route discards the packet silently; the contract checks the TTL first and punts",
    "punt:NO_ROUTE": "Linux sends ICMP Destination Unreachable (network unreachable) to the source "
    "itself; the contract punts and the controller answers",
    "punt:ARP_MISS": "Linux sends an ARP request for the next hop out of the egress port and queues "
    "the packet itself; the contract punts and the controller resolves",
}

#: Where the kernel, by design, does not do what the contract does with a forwarded frame.
KERNEL_DIFFERENCES: dict[str, str] = {
    "trims-padding": "Linux trims the frame to the IPv4 total length on input (pskb_trim_rcsum); "
    "the contract carries trailing bytes unchanged",
    "rewrites-options": "Linux processes options when forwarding (RFC 791): it records its address in "
    "a Record Route or a time in a Timestamp option that has room, and overwrites bytes after an "
    "End of Option List with EOL; the contract leaves options untouched. Compared everywhere else, "
    "and the kernel's (fully recomputed) checksum must verify",
    "drops-source-route": "Linux drops packets with a Loose/Strict Source Route option "
    "(accept_source_route=0; RFC 1812 allows this as a configuration option); the contract forwards "
    "options untouched",
    "forwards-zeronet-source": "Linux (5.x and later) treats 0.0.0.0/8 sources other than 0.0.0.0 as "
    "ordinary unicast (the 0.0.0.0/8 'unicast extensions' change); RFC 1812 5.3.7 and the "
    "contract drop the whole /8 as MARTIAN_SOURCE. The kernel must route such a frame: it comes out "
    "with TTL - 1, a checksum that verifies, and the rest of the IPv4 datagram unchanged",
    "source-mac": "a Linux interface has one MAC, used for both the ingress check and the egress source; "
    "the contract's router_mac and port_mac tables are separate and an egress port may have no port MAC "
    "(the frame then keeps its source MAC). Compared everywhere but the source MAC, which must be the "
    "kernel's egress interface MAC",
}


def vector_class(vector: Vector) -> str:
    """What the cross-check does with a vector: 'forward', 'drop', 'punt-observed' or a NOT_COMPARED key."""
    if vector.ingress_port == CPU_PORT:
        return "packet-out"
    if isinstance(vector.expected, Punt):
        name = f"punt:{vector.expected.reason.name}"
        return "punt-observed" if name in KERNEL_INSTEAD_OF_PUNT else name
    if len(vector.frame) < ETH:
        return "runt"
    return "forward" if isinstance(vector.expected, Forward) else "drop"


def option_kinds(frame: bytes) -> set[str]:
    """The option features Linux acts on when forwarding, read from the frame's IPv4 options."""
    options = frame[ETH + 20 : ETH + 4 * (frame[ETH] & 0xF)]
    kinds, i = set(), 0
    while i < len(options):
        kind = options[i]
        if kind == 0:  # End of Option List: Linux rewrites whatever follows to EOL.
            if any(options[i + 1 :]):
                kinds.add("after-eol")
            break
        if kind == 1:
            i += 1
            continue
        length = options[i + 1] if i + 1 < len(options) else 0
        if length < 2:
            break
        pointer = options[i + 2] if length > 2 else 0
        if kind == 7 and pointer <= length:
            kinds.add("record-route-room")
        if kind == 68 and pointer <= length:
            kinds.add("timestamp-room")
        if kind in (131, 137):
            kinds.add("source-route")
        i += length
    return kinds


ZERONET = IPv4Network("0.0.0.0/8")


def kernel_drop_differences(vector: Vector) -> set[str]:
    """The KERNEL_DIFFERENCES keys that apply to a dropped vector."""
    assert isinstance(vector.expected, Drop)
    if vector.expected.reason == DropReason.MARTIAN_SOURCE:
        source = IPv4Address(vector.frame[ETH + 12 : ETH + 16])
        if source in ZERONET and int(source) != 0:
            return {"forwards-zeronet-source"}
    return set()


def kernel_differences(vector: Vector) -> set[str]:
    """The KERNEL_DIFFERENCES keys that apply to a vector."""
    if isinstance(vector.expected, Drop):
        return kernel_drop_differences(vector)
    assert isinstance(vector.expected, Forward)
    frame, differences = vector.frame, set()
    kinds = option_kinds(frame)
    if "source-route" in kinds:
        return {"drops-source-route"}
    if kinds & {"record-route-room", "timestamp-room", "after-eol"}:
        differences.add("rewrites-options")
    if len(frame) > ETH + int.from_bytes(frame[ETH + 2 : ETH + 4], "big"):
        differences.add("trims-padding")
    egress = vector.expected.port
    port_mac = vector.tables.port_macs.get(egress)
    if port_mac is None or port_mac != vector.tables.router_mac(egress):
        differences.add("source-mac")
    return differences


# --------------------------------------------------------------------------
# The kernel router.
# --------------------------------------------------------------------------


def filler_mac(port: int) -> str:
    """A MAC for a port the table gives no router MAC (it then accepts no unicast)."""
    return f"02:ff:ff:ff:ff:{port:02x}"


@dataclass
class KernelRouter:
    """A router namespace and one host namespace per port, built from a TableState."""

    tables: TableState
    router: Namespace
    hosts: dict[int, Namespace] = field(default_factory=dict)
    sockets: dict[int, object] = field(default_factory=dict)

    @classmethod
    def build(cls, lab: NetnsLab, tables: TableState) -> KernelRouter:
        router = lab.namespace("router")
        router.sysctl(ROUTER_SYSCTLS)
        kernel = cls(tables, router)
        for port in range(1, tables.num_ports + 1):
            host = lab.namespace(f"h{port}")
            host.sysctl(HOST_SYSCTLS)
            mac = tables.router_mac(port)
            lab.veth(
                router, f"p{port}", host, f"h{port}", a_mac=str(mac) if mac else filler_mac(port), mtu=MTU
            )
            kernel.hosts[port] = host
            kernel.sockets[port] = host.packet_socket(f"h{port}")
        router.ip_batch(kernel.ip_commands())
        return kernel

    def ip_commands(self) -> list[str]:
        t = self.tables
        commands = [f"address add {a}/32 dev lo" for a in sorted(t.local_ips)]
        for prefix, action in sorted(t.routes.items()):
            if isinstance(action, NextHop):
                commands.append(f"route add {prefix} via {action.ip} dev p{action.port} onlink")
            elif isinstance(action, Direct):
                commands.append(f"route add {prefix} dev p{action.port}")
            else:
                assert isinstance(action, NullRoute)
                commands.append(f"route add blackhole {prefix}")
        # The kernel keys neighbours by (address, interface); the contract by address only.
        for address, mac in sorted(t.neighbours.items()):
            commands += [
                f"neigh replace {address} lladdr {mac} dev p{port} nud permanent" for port in self.hosts
            ]
        return commands

    def drain(self) -> None:
        for sock in self.sockets.values():
            while select.select([sock], [], [], 0)[0]:
                sock.recv(65535)

    def send(self, port: int, frame: bytes) -> None:
        self.sockets[port].send(frame)

    def receive(self, port: int, timeout: float) -> bytes | None:
        """The next frame the router sent out of ``port`` (not one the host sent itself)."""
        sock, deadline = self.sockets[port], time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            frame, address = sock.recvfrom(65535)
            if address[2] != PACKET_OUTGOING:
                return frame
        return None

    def received_anywhere(self, quiet: float, first_within: float = 0.0) -> dict[int, list[bytes]]:
        """Every frame the router sent, on any port: waits up to ``first_within`` seconds
        for a first one, then ``quiet`` seconds for any more."""
        arrived: dict[int, list[bytes]] = {}
        deadline = time.monotonic() + first_within
        while not arrived and (left := deadline - time.monotonic()) > 0:
            ready = select.select(list(self.sockets.values()), [], [], left)[0]
            for port, sock in self.sockets.items():
                if sock in ready:
                    frame, address = sock.recvfrom(65535)
                    if address[2] != PACKET_OUTGOING:
                        arrived.setdefault(port, []).append(frame)
        time.sleep(quiet)
        for port in self.sockets:
            while (frame := self.receive(port, 0.001)) is not None:
                arrived.setdefault(port, []).append(frame)
        return arrived

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()


# --------------------------------------------------------------------------
# Comparing.
# --------------------------------------------------------------------------


def compare_forwarded(vector: Vector, kernel_frame: bytes | None, kernel_mac: str) -> str | None:
    """None if the kernel's frame is what the contract says modulo the kernel's documented
    differences, else a description of the mismatch."""
    assert isinstance(vector.expected, Forward)
    differences = kernel_differences(vector)
    if "drops-source-route" in differences:
        return None if kernel_frame is None else "the kernel forwarded a source-routed packet"
    if kernel_frame is None:
        return f"nothing came out of port {vector.expected.port}"
    expected = vector.expected.frame
    if "trims-padding" in differences:
        expected = expected[: ETH + int.from_bytes(expected[ETH + 2 : ETH + 4], "big")]
    if len(kernel_frame) != len(expected):
        return f"length {len(kernel_frame)}, expected {len(expected)}"
    ignore: set[int] = set()
    if "source-mac" in differences:
        if kernel_frame[6:12] != bytes.fromhex(kernel_mac.replace(":", "")):
            return f"source MAC {kernel_frame[6:12].hex(':')} is not the egress interface's {kernel_mac}"
        ignore |= set(range(6, 12))
    if "rewrites-options" in differences:
        header_end = ETH + 4 * (expected[ETH] & 0xF)
        ignore |= set(range(ETH + 20, header_end)) | {ETH + 10, ETH + 11}
        if scapy_checksum(kernel_frame[ETH:header_end]) != 0:
            return "the kernel's header checksum does not verify"
    wrong = [i for i in range(len(expected)) if i not in ignore and kernel_frame[i] != expected[i]]
    if wrong:
        return f"{len(wrong)} byte(s) differ, first at offset {wrong[0]}: kernel {kernel_frame.hex()} model {expected.hex()}"
    return None


def check_routed_anyway(vector: Vector, arrived: dict[int, list[bytes]]) -> str | None:
    """A frame the contract drops but the kernel routes: exactly one routed copy must come out."""
    frames = [frame for port_frames in arrived.values() for frame in port_frames]
    if len(frames) != 1:
        return f"expected the kernel to route it once, {len(frames)} frame(s) came out"
    out, sent = frames[0], vector.frame
    header_end = ETH + 4 * (sent[ETH] & 0xF)
    if out[12:ETH] != sent[12:ETH] or out[ETH + 12 :] != sent[ETH + 12 :]:
        return f"not a routed copy: {out.hex()}"
    if out[ETH + 8] != sent[ETH + 8] - 1 or scapy_checksum(out[ETH:header_end]) != 0:
        return f"TTL or checksum not as routed: {out.hex()}"
    return None


def route_for(tables: TableState, address: IPv4Address) -> NextHop | Direct | NullRoute | None:
    matching = [prefix for prefix in tables.routes if address in prefix]
    return tables.routes[max(matching, key=lambda p: p.prefixlen)] if matching else None


def icmp_to(source: IPv4Address, icmp_type: int, code: int) -> Callable[[bytes], bool]:
    def matches(frame: bytes) -> bool:
        if frame[12:14] != b"\x08\x00" or frame[ETH + 9] != 1:
            return False
        icmp = ETH + 4 * (frame[ETH] & 0xF)
        return IPv4Address(frame[ETH + 16 : ETH + 20]) == source and tuple(frame[icmp : icmp + 2]) == (
            icmp_type,
            code,
        )

    return matches


def arp_request_for(address: IPv4Address) -> Callable[[bytes], bool]:
    def matches(frame: bytes) -> bool:
        return (
            frame[12:14] == b"\x08\x06"
            and frame[ETH + 6 : ETH + 8] == b"\x00\x01"
            and (frame[ETH + 24 : ETH + 28] == address.packed)
        )

    return matches


def kernel_reaction(vector: Vector) -> tuple[int, Callable[[bytes], bool]] | None:
    """Where Linux sends what instead of a punt (KERNEL_INSTEAD_OF_PUNT), or None when it
    stays silent: a null route, or no route back to the source for its ICMP error."""
    assert isinstance(vector.expected, Punt)
    tables, frame = vector.tables, vector.frame
    source, destination = IPv4Address(frame[ETH + 12 : ETH + 16]), IPv4Address(frame[ETH + 16 : ETH + 20])
    route = route_for(tables, destination)
    if vector.expected.reason == PuntReason.ARP_MISS:
        assert isinstance(route, (NextHop, Direct))
        return route.port, arp_request_for(route.ip if isinstance(route, NextHop) else destination)
    if isinstance(route, NullRoute):
        return None
    back = route_for(tables, source)
    if not isinstance(back, (NextHop, Direct)) or (back.ip if isinstance(back, NextHop) else source) not in (
        tables.neighbours
    ):
        return None
    return back.port, icmp_to(source, 3, 0) if route is None else icmp_to(source, 11, 0)


def check_reaction(vector: Vector, arrived: dict[int, list[bytes]]) -> str | None:
    expected = kernel_reaction(vector)
    if expected is None:
        return None if not arrived else f"expected silence, got {arrived}"
    port, matches = expected
    if not any(matches(frame) for frame in arrived.get(port, [])):
        return f"expected the kernel's own answer on port {port}, got {arrived}"
    return None


@dataclass
class Findings:
    compared: dict[str, set[str]] = field(default_factory=dict)  # vector name -> differences applied
    forward_mismatches: list[str] = field(default_factory=list)
    #: documented differences seen to change the kernel's frame (or its absence) for real
    observed: set[str] = field(default_factory=set)
    leaked_drops: list[str] = field(default_factory=list)
    punt_mismatches: list[str] = field(default_factory=list)


def table_key(vector: Vector) -> str:
    return next(tag for tag in vector.tags if tag.startswith("table:"))


def run_table(lab: NetnsLab, vectors: list[Vector], findings: Findings) -> None:
    kernel = KernelRouter.build(lab, vectors[0].tables)
    try:
        for vector in vectors:
            assert vector.tables == kernel.tables, f"{vector.name}: tables differ within {table_key(vector)}"
            if isinstance(vector.expected, Forward):
                kernel.drain()
                kernel.send(vector.ingress_port, vector.frame)
                differences = kernel_differences(vector)
                quiet = "drops-source-route" in differences
                port = vector.expected.port
                frame = kernel.receive(port, QUIET_S if quiet else RECEIVE_TIMEOUT_S)
                egress_mac = vector.tables.router_mac(port)
                mac = str(egress_mac) if egress_mac else filler_mac(port)
                if problem := compare_forwarded(vector, frame, mac):
                    findings.forward_mismatches.append(f"{vector.name}: {problem}")
                elif frame != vector.expected.frame:
                    findings.observed |= differences
                findings.compared[vector.name] = differences
        # Frames the contract drops and the kernel routes (one by one, to tell them apart).
        for vector in vectors:
            if isinstance(vector.expected, Drop) and (differences := kernel_differences(vector)):
                kernel.drain()
                kernel.send(vector.ingress_port, vector.frame)
                if problem := check_routed_anyway(
                    vector, kernel.received_anywhere(QUIET_S, RECEIVE_TIMEOUT_S)
                ):
                    findings.forward_mismatches.append(f"{vector.name}: {problem}")
                else:
                    findings.observed |= differences
                findings.compared[vector.name] = differences
        # Frames the contract drops: send them all, then every port must have stayed quiet.
        kernel.drain()
        for vector in vectors:
            if isinstance(vector.expected, Drop) and not kernel_differences(vector):
                kernel.send(vector.ingress_port, vector.frame)
                findings.compared[vector.name] = set()
        for port, frames in kernel.received_anywhere(QUIET_S).items():
            for frame in frames:
                findings.leaked_drops.append(f"port {port} sent {frame.hex()}")
        # Punts Linux answers itself, last: its ARP retries outlive the vector.
        for vector in vectors:
            if vector_class(vector) == "punt-observed":
                kernel.drain()
                kernel.send(vector.ingress_port, vector.frame)
                wait = RECEIVE_TIMEOUT_S if kernel_reaction(vector) else 0.0
                if problem := check_reaction(vector, kernel.received_anywhere(QUIET_S, wait)):
                    findings.punt_mismatches.append(f"{vector.name}: {problem}")
                findings.compared[vector.name] = set()
    finally:
        kernel.close()


@pytest.fixture(scope="module")
def kernel_findings(corpus: list[Vector]) -> Iterator[Findings]:
    if os.geteuid() != 0:
        pytest.fail("the kernel cross-check needs root (it builds network namespaces); run the tests as root")
    by_table: dict[str, list[Vector]] = {}
    for vector in corpus:
        if vector_class(vector) in ("forward", "drop", "punt-observed"):
            by_table.setdefault(table_key(vector), []).append(vector)
    findings = Findings()
    with NetnsLab("trkx") as lab:
        for vectors in by_table.values():
            run_table(lab, vectors, findings)
    yield findings


def test_every_vector_is_compared_or_documented(corpus: list[Vector], kernel_findings: Findings) -> None:
    for vector in corpus:
        cls = vector_class(vector)
        if cls in ("forward", "drop", "punt-observed"):
            assert vector.name in kernel_findings.compared, vector.name
        else:
            assert cls in NOT_COMPARED, f"{vector.name}: class {cls} is neither compared nor documented"
    applied = set().union(*kernel_findings.compared.values())
    assert applied == set(KERNEL_DIFFERENCES), "every documented difference must still occur in the corpus"


def test_every_documented_difference_is_real(kernel_findings: Findings) -> None:
    """A difference listed in KERNEL_DIFFERENCES must actually show in the kernel's output,
    or the list is excusing something the kernel does not do."""
    assert kernel_findings.observed == set(KERNEL_DIFFERENCES)


def test_kernel_forwards_byte_identical_frames(corpus: list[Vector], kernel_findings: Findings) -> None:
    forwarded = [v for v in corpus if vector_class(v) == "forward"]
    exact = [v for v in forwarded if not kernel_differences(v)]
    assert len(exact) >= 60, "most forwarding vectors must be compared byte for byte"
    assert not kernel_findings.forward_mismatches, "\n".join(kernel_findings.forward_mismatches)


def test_kernel_forwards_nothing_the_contract_drops(kernel_findings: Findings) -> None:
    assert not kernel_findings.leaked_drops, "\n".join(kernel_findings.leaked_drops)


def test_kernel_answers_instead_of_punting(kernel_findings: Findings) -> None:
    assert not kernel_findings.punt_mismatches, "\n".join(kernel_findings.punt_mismatches)


def test_punt_reasons_are_all_documented() -> None:
    documented = set(NOT_COMPARED) | set(KERNEL_INSTEAD_OF_PUNT)
    assert {f"punt:{reason.name}" for reason in PuntReason} <= documented


def test_option_reader() -> None:
    rr_room = bytes([7, 7, 4, 0, 0, 0, 0, 0])
    frame = bytes(ETH) + bytes([0x47]) + bytes(19) + rr_room
    assert option_kinds(frame) == {"record-route-room"}
    full = bytes([7, 7, 8, 1, 2, 3, 4, 0])
    assert option_kinds(bytes(ETH) + bytes([0x47]) + bytes(19) + full) == set()
    after_eol = bytes([1, 0, 0, 9])
    assert option_kinds(bytes(ETH) + bytes([0x46]) + bytes(19) + after_eol) == {"after-eol"}
    zero_length = bytes([0x99, 0, 1, 1])  # malformed: must end the walk, not loop
    assert option_kinds(bytes(ETH) + bytes([0x46]) + bytes(19) + zero_length) == set()
