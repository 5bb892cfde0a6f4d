"""Ways to carry whole Ethernet frames: a Linux interface, or an in-process pipe."""

from __future__ import annotations

import asyncio
import logging
import socket

from sim.packet_socket import keep_vlan_tags, receive_frame

log = logging.getLogger(__name__)

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # sll_pkttype of frames this host sent itself
MAX_FRAME = 16384


class RawSocketLink:
    """Frames in and out of one Linux interface through an AF_PACKET socket.

    The interface should have its offloads off (no GRO/GSO/checksum) so
    frames cross it byte for byte; ``sim.netns`` sets up veths that way.
    """

    def __init__(self, ifname: str):
        self.ifname = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((ifname, 0))
        self.sock.setblocking(False)
        keep_vlan_tags(self.sock)  # an 802.1Q frame reaches the pipeline tagged, as it was sent
        self._incoming: asyncio.Queue[bytes] | None = None
        self.errors = 0  # frames lost to a port that was down

    def _on_readable(self) -> None:
        assert self._incoming is not None
        while True:
            try:
                frame, pkttype = receive_frame(self.sock, MAX_FRAME)
            except BlockingIOError:
                return
            except OSError as error:  # e.g. the interface went down: like a port losing link
                self.errors += 1
                log.debug("%s: receive failed: %s", self.ifname, error)
                return
            if pkttype != PACKET_OUTGOING:  # not the frames we sent ourselves
                self._incoming.put_nowait(frame)

    async def recv(self) -> bytes:
        if self._incoming is None:
            self._incoming = asyncio.Queue()
            asyncio.get_running_loop().add_reader(self.sock.fileno(), self._on_readable)
        return await self._incoming.get()

    async def send(self, frame: bytes) -> None:
        """Send ``frame``; on a port that is down or gone it is dropped and counted, as on a real port."""
        try:
            await asyncio.get_running_loop().sock_sendall(self.sock, frame)
        except OSError as error:
            self.errors += 1
            log.debug("%s: send failed, frame dropped: %s", self.ifname, error)

    def close(self) -> None:
        if self._incoming is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()


class PipeEnd:
    """One end of an in-process link: what one end sends, the other receives."""

    def __init__(self, inbox: asyncio.Queue[bytes], outbox: asyncio.Queue[bytes]):
        self._inbox = inbox
        self._outbox = outbox

    async def send(self, frame: bytes) -> None:
        self._outbox.put_nowait(frame)

    async def recv(self) -> bytes:
        return await self._inbox.get()


def pipe() -> tuple[PipeEnd, PipeEnd]:
    """Two connected link ends, like the two ends of a cable."""
    a_to_b: asyncio.Queue[bytes] = asyncio.Queue()
    b_to_a: asyncio.Queue[bytes] = asyncio.Queue()
    return PipeEnd(b_to_a, a_to_b), PipeEnd(a_to_b, b_to_a)
