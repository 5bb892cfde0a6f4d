"""Whole frames from an AF_PACKET socket, VLAN tag included.

Linux takes the 802.1Q tag out of a received frame before any packet socket
sees it (``skb_vlan_untag``, whatever the interface's offloads) and hands it
over beside the frame, in ``PACKET_AUXDATA``. A switch must see the frame as
it was on the wire -- a tagged frame is not IPv4 to a router without VLANs --
so, as libpcap does, :func:`receive_frame` puts the tag back where it was.
"""

from __future__ import annotations

import socket
import struct

SOL_PACKET = 263
PACKET_AUXDATA = 8
#: ``tp_status`` bits of ``struct tpacket_auxdata``.
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
#: ``struct tpacket_auxdata``: status, len, snaplen, mac, net, vlan_tci, vlan_tpid.
_AUXDATA = struct.Struct("=IIIHHHH")
ETH_P_8021Q = 0x8100
_MAC_ADDRESSES = 12


def keep_vlan_tags(sock: socket.socket) -> None:
    """Ask ``sock`` for the auxiliary data :func:`receive_frame` needs."""
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)


def receive_frame(sock: socket.socket, size: int) -> tuple[bytes, int]:
    """The next frame on ``sock`` (as :func:`keep_vlan_tags` set it up) and its ``sll_pkttype``.

    Raises ``BlockingIOError`` on a non-blocking socket with nothing waiting.
    """
    frame, ancillary, _flags, address = sock.recvmsg(size, socket.CMSG_SPACE(_AUXDATA.size))
    for level, kind, data in ancillary:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= _AUXDATA.size:
            status, _, _, _, _, tci, tpid = _AUXDATA.unpack_from(data)
            if status & TP_STATUS_VLAN_VALID:
                tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID else ETH_P_8021Q
                frame = frame[:_MAC_ADDRESSES] + struct.pack("!HH", tpid, tci) + frame[_MAC_ADDRESSES:]
    return frame, address[2]
