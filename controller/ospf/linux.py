"""Our OSPF instance on Linux interfaces, through raw IP sockets (protocol 89), without a data plane.

For interoperability checks against another implementation (FRR's ospfd
in a network namespace): the same protocol engine the controller runs,
with the kernel doing what the switch and the controller's packet I/O do
otherwise. One socket per interface, bound to it, joined to 224.0.0.5
and 224.0.0.6; TTL 1 and precedence 6 as RFC 2328 §A.1 asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from ipaddress import IPv4Address

from controller.ospf.constants import ALL_D_ROUTERS, ALL_SPF_ROUTERS, IP_PROTOCOL
from controller.ospf.instance import OspfInstance
from controller.packets import Ipv4, MalformedPacket

_SO_BINDTODEVICE = 25
_TOS_INTERNETWORK_CONTROL = 0xC0


def open_ospf_socket(interface: str, address: IPv4Address) -> socket.socket:
    """A raw protocol-89 socket on ``interface`` (address ``address``), in the caller's namespace."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IP_PROTOCOL)
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_BINDTODEVICE, interface.encode())
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, address.packed)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, _TOS_INTERNETWORK_CONTROL)
        for group in (ALL_SPF_ROUTERS, ALL_D_ROUTERS):
            membership = struct.pack("4s4s", group.packed, address.packed)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class LinuxOspfIo:
    """Both directions for an instance: its ``PacketSender``, and readers feeding ``receive()``."""

    def __init__(self, sockets: dict[str, socket.socket]) -> None:
        self._sockets = sockets
        self.instance: OspfInstance | None = None

    def start(self, instance: OspfInstance) -> None:
        self.instance = instance
        loop = asyncio.get_running_loop()
        for name, sock in self._sockets.items():
            loop.add_reader(sock.fileno(), self._readable, name, sock)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets.values():
            loop.remove_reader(sock.fileno())
            sock.close()

    def _readable(self, name: str, sock: socket.socket) -> None:
        try:
            data = sock.recv(65535)  # the whole IP datagram, header included
        except BlockingIOError:
            return
        try:
            ip = Ipv4.parse(data)
        except MalformedPacket:
            return
        if self.instance is not None:
            self.instance.receive(name, ip.src, ip.dst, ip.payload)

    def send(self, interface: str, source: IPv4Address, destination: IPv4Address, payload: bytes) -> None:
        # A failed send is like a frame lost on the wire: the protocol retransmits.
        with contextlib.suppress(OSError):
            self._sockets[interface].sendto(payload, (str(destination), 0))
