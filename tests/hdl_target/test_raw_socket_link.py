"""The HDL switch's raw-socket ports hand the pipeline each frame as it was on the wire.

Linux takes the 802.1Q tag out of a received frame before a packet socket
sees it; the switch must put it back, or a tagged frame would reach the
pipeline as untagged IPv4 and be routed where BMv2 drops it
(UNSUPPORTED_ETHERTYPE).
"""

from __future__ import annotations

import asyncio

import pytest

from sim.hdl_target.links import RawSocketLink
from sim.netns import NetnsLab
from sim.p4rt_harness.wiring import host_port_ifname, switch_port_ifname, wired_namespace

pytestmark = pytest.mark.network

MACS = bytes.fromhex("02000000000102000000000a")
IPV4 = bytes.fromhex("0800") + bytes(46)
TAGGED = {
    "802.1Q": MACS + bytes.fromhex("81000064") + IPV4,
    "802.1ad": MACS + bytes.fromhex("88a80064") + bytes.fromhex("81000005") + IPV4,
    "priority tag (VLAN 0)": MACS + bytes.fromhex("8100a000") + IPV4,
}


@pytest.mark.parametrize("frame", [MACS + IPV4, *TAGGED.values()], ids=["untagged", *TAGGED])
def test_a_frame_reaches_the_switch_port_byte_for_byte(frame):
    with NetnsLab("trlink") as lab:
        namespace = wired_namespace(lab, 1, "link")  # sw1 -- host1, IPv6 off: no frame but ours

        async def scenario() -> bytes:
            with namespace.entered():
                link = RawSocketLink(switch_port_ifname(1))
            sender = namespace.packet_socket(host_port_ifname(1))
            try:
                waiting = asyncio.create_task(asyncio.wait_for(link.recv(), 2))
                await asyncio.sleep(0.01)  # the link reads once its first recv() has registered it
                sender.send(frame)
                return await waiting
            finally:
                sender.close()
                link.close()

        assert asyncio.run(scenario()).hex() == frame.hex()
