"""A switch's front-panel ports wired to the test: veth pairs in a private namespace.

The namespace holds one veth pair per port, ``sw<N>`` (the switch binds its
port ``N`` there) -- ``host<N>`` (the test's AF_PACKET socket sits there,
which is what a Mininet host sees). Any switch that takes ``-i N@ifname``
style bindings can be wired this way: BMv2 and ``twinrouter hdl-switch``.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

from sim.netns import Namespace, NetnsLab, run
from sim.packet_socket import keep_vlan_tags, receive_frame

#: Large enough for the corpus's 9000-byte frames.
VETH_MTU = 9500
# Offloads that could rewrite or merge frames between a socket and the wire.
_OFFLOADS = ("rx", "tx", "sg", "tso", "gso", "gro")


def switch_port_ifname(port: int) -> str:
    return f"sw{port}"


def host_port_ifname(port: int) -> str:
    return f"host{port}"


def wired_namespace(lab: NetnsLab, num_ports: int, role: str) -> Namespace:
    """A namespace holding veth pairs ``sw<N>`` (the switch's) -- ``host<N>`` (the test's).

    Nothing in it talks on its own: IPv6 is off before any link comes up (no
    router solicitations, no MLD) and no link has an address, so every frame
    on a veth is one the test sent or the switch forwarded.
    """
    namespace = lab.namespace(role)
    namespace.sysctl({"net.ipv6.conf.all.disable_ipv6": 1, "net.ipv6.conf.default.disable_ipv6": 1})
    for port in range(1, num_ports + 1):
        ends = (switch_port_ifname(port), host_port_ifname(port))
        lab.veth(namespace, ends[0], namespace, ends[1], mtu=VETH_MTU)
        for end in ends:
            offloads = [arg for offload in _OFFLOADS for arg in (offload, "off")]
            run(["ip", "netns", "exec", namespace.name, "ethtool", "-K", end, *offloads])
    return namespace


def host_socket(namespace: Namespace, port: int) -> socket.socket:
    """A non-blocking raw socket on the test's end of front-panel ``port``'s veth."""
    sock = namespace.packet_socket(host_port_ifname(port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.setblocking(False)
    keep_vlan_tags(sock)
    return sock


class Ports(Protocol):
    """Frames in on a port; everything the switch transmits on front-panel ports, by port."""

    received: dict[int, asyncio.Queue[bytes]]

    def send(self, port: int, frame: bytes) -> None: ...

    async def close(self) -> None: ...


class VethPorts:
    """One non-blocking AF_PACKET socket per front-panel port, read by the event loop."""

    def __init__(self, sockets: dict[int, socket.socket]) -> None:
        self._sockets = sockets
        self._loop = asyncio.get_running_loop()
        self.received: dict[int, asyncio.Queue[bytes]] = {port: asyncio.Queue() for port in sockets}
        for port, sock in sockets.items():
            self._loop.add_reader(sock.fileno(), self._receive, port)

    @classmethod
    def on_host_ends(cls, namespace: Namespace, num_ports: int) -> VethPorts:
        """The test's sockets on every ``host<N>`` end of :func:`wired_namespace`'s veths."""
        return cls({port: host_socket(namespace, port) for port in range(1, num_ports + 1)})

    def _receive(self, port: int) -> None:
        sock = self._sockets[port]
        while True:
            try:
                frame, pkttype = receive_frame(sock, 1 << 16)
            except BlockingIOError:
                return
            if pkttype != socket.PACKET_OUTGOING:  # a packet socket sees its own sends too
                self.received[port].put_nowait(frame)

    def send(self, port: int, frame: bytes) -> None:
        self._sockets[port].send(frame)

    async def close(self) -> None:
        for sock in self._sockets.values():
            self._loop.remove_reader(sock.fileno())
            sock.close()
