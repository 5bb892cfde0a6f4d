"""Two controller Routers running OSPF, each on the reference-model switch, wired port to port.

Everything between the instances is real: hellos leave as packet-outs to
01:00:5e:00:00:05, cross the wire, are punted as LOCAL by the other
pipeline; unicast OSPF goes through ARP; the learnt routes land in the RIB
and the switch's ipv4_lpm; and a host's ping crosses both pipelines.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from controller.clock import FakeClock
from controller.config import ConfigError, parse_config
from controller.intent import Table
from controller.ospf.drops import DropReason
from controller.ospf.neighbor import NeighborState
from controller.ospf.speaker import OspfSpeaker, attach_ospf
from controller.rib import Source
from controller.router import Router
from sim.model.tables import NextHop

from ..model_switch import ModelSwitch


def router_toml(n: int, network: str) -> str:
    """Router n: eth1 (port 1) to a host LAN 10.0.n.0/24, eth2 (port 2) to the other router."""
    return f"""
router_id = "10.255.0.{n}"

[[interface]]
name = "eth1"
port = 1
mac = "02:00:00:00:0{n}:01"
address = "10.0.{n}.1/24"

[[interface]]
name = "eth2"
port = 2
mac = "02:00:00:00:0{n}:02"
address = "10.0.12.{n}/24"

[ospf.interfaces.eth1]
passive = true

[ospf.interfaces.eth2]
network = "{network}"
hello_interval = 1
dead_interval = 4
"""


HOST_B_MAC = "02:bb:00:00:00:0b"


class Fabric:
    """Two switches joined port 2 to port 2; host B answers ARP on router 2's port 1."""

    def __init__(self, network: str) -> None:
        self.clock = FakeClock()
        self.switches: list[ModelSwitch] = []
        self.routers: list[Router] = []
        self.speakers: list[OspfSpeaker] = []
        self.to_host_b: list[bytes] = []
        self.link_up = True
        for n in (1, 2):
            switch = ModelSwitch(num_ports=4)
            router = Router(parse_config(router_toml(n, network), f"r{n}.toml"), self.clock, switch)
            switch.router = router
            router.start()
            speaker = attach_ospf(router)
            assert speaker is not None
            self.switches.append(switch)
            self.routers.append(router)
            self.speakers.append(speaker)
        self.pump()

    def pump(self) -> None:
        moved = True
        while moved:
            moved = False
            for index, switch in enumerate(self.switches):
                for port, frame in switch.take_wire():
                    moved = True
                    if port == 2 and self.link_up:
                        self.switches[1 - index].receive(2, frame)
                    elif index == 1 and port == 1:
                        self._host_b(frame)

    def _host_b(self, frame: bytes) -> None:
        packet = Ether(frame)
        if ARP in packet and packet[ARP].op == 1 and packet[ARP].pdst == "10.0.2.20":
            reply = Ether(dst=packet.src, src=HOST_B_MAC) / ARP(
                op=2, hwsrc=HOST_B_MAC, psrc="10.0.2.20", hwdst=packet.src, pdst=packet[ARP].psrc
            )
            self.switches[1].receive(1, bytes(reply))
        elif IP in packet:
            self.to_host_b.append(frame)

    def run_until(self, condition, timeout: float) -> None:
        end = self.clock.now() + timeout
        while not condition():
            assert self.clock.now() < end, "not reached in time"
            self.clock.advance(0.1)
            self.pump()


@pytest.mark.parametrize("network", ["point-to-point", "broadcast"])
def test_two_routers_learn_each_others_lans_and_forward(network):
    fabric = Fabric(network)
    r1, r2 = fabric.routers
    learnt = IPv4Network("10.0.2.0/24")
    fabric.run_until(lambda: r1.rib.best(learnt) is not None, timeout=30)
    for speaker in fabric.speakers:
        (state,) = [n.state for i in speaker.instance.interfaces.values() for n in i.neighbors.values()]
        assert state == NeighborState.FULL
    best = r1.rib.best(learnt)
    assert best.source == Source.OSPF and best.distance == 110
    assert best.action == NextHop(IPv4Address("10.0.12.2"), 2)
    assert fabric.switches[0].entries[(Table.IPV4_LPM, learnt)] == NextHop(IPv4Address("10.0.12.2"), 2)
    assert r2.rib.best(IPv4Network("10.0.1.0/24")).action == NextHop(IPv4Address("10.0.12.1"), 2)
    # The shared subnet stays a connected route; OSPF does not displace it.
    assert r1.rib.best(IPv4Network("10.0.12.0/24")).source == Source.CONNECTED
    fabric.clock.advance(2)
    fabric.pump()
    # A ping from host A (behind r1) to host B (behind r2) crosses both pipelines.
    ping = (
        Ether(dst="02:00:00:00:01:01", src="02:aa:00:00:00:0a")
        / IP(src="10.0.1.10", dst="10.0.2.20", ttl=64)
        / ICMP(type=8, id=1, seq=1)
    )
    fabric.switches[0].receive(1, bytes(ping))
    fabric.run_until(lambda: fabric.to_host_b, timeout=5)
    arrived = Ether(fabric.to_host_b[-1])
    assert arrived.dst == HOST_B_MAC and arrived[IP].ttl == 62 and arrived[ICMP].type == 8
    # Only what a healthy exchange produces: the loser's DD claim, DROthers hearing AllDRouters.
    benign = {DropReason.DD_IGNORED, DropReason.WRONG_DESTINATION, DropReason.LSA_TOO_RECENT}
    for speaker in fabric.speakers:
        assert set(speaker.instance.drops) <= benign


def test_link_loss_withdraws_the_route_from_the_switch():
    fabric = Fabric("point-to-point")
    r1 = fabric.routers[0]
    learnt = IPv4Network("10.0.2.0/24")
    fabric.run_until(lambda: r1.rib.best(learnt) is not None, timeout=30)
    fabric.link_up = False  # silently: no carrier loss, the dead interval (4 s) finds it
    fabric.run_until(lambda: r1.rib.best(learnt) is None, timeout=6)
    assert (Table.IPV4_LPM, learnt) not in fabric.switches[0].entries


def test_status_view_is_plain_data():
    import json

    fabric = Fabric("broadcast")
    fabric.run_until(lambda: fabric.routers[0].rib.best(IPv4Network("10.0.2.0/24")) is not None, timeout=30)
    status = fabric.speakers[0].status()
    json.dumps(status)
    assert status["router_id"] == "10.255.0.1"
    assert [n["state"] for n in status["neighbors"]] == ["Full"]
    assert {(d["type"], d["adv_router"]) for d in status["database"]} == {
        (1, "10.255.0.1"),
        (1, "10.255.0.2"),
        (2, "10.255.0.2"),  # router 2 (higher id) is DR
    }
    from controller.ospf.show import render_ospf

    assert [t.title for t in render_ospf(status)] == [
        "OSPF neighbours of 10.255.0.1",
        "OSPF link-state database (area 0)",
        "OSPF routes",
    ]


def test_bad_ospf_config_names_the_file_and_field():
    text = router_toml(1, "point-to-point").replace("dead_interval = 4", "dead_interval = 0")
    router = Router(parse_config(text, "r1.toml"), FakeClock(), ModelSwitch())
    with pytest.raises(ConfigError) as error:
        OspfSpeaker(router)
    assert "r1.toml" in str(error.value) and "ospf.interfaces.eth2.dead_interval" in str(error.value)
    unknown = router_toml(1, "point-to-point") + "\n[ospf.interfaces.eth7]\ncost = 3\n"
    router = Router(parse_config(unknown, "r1.toml"), FakeClock(), ModelSwitch())
    with pytest.raises(ConfigError) as error:
        OspfSpeaker(router)
    assert "ospf.interfaces.eth7" in str(error.value)


def test_stopping_ospf_withdraws_its_routes_from_the_rib():
    fabric = Fabric("point-to-point")
    r1 = fabric.routers[0]
    learnt = IPv4Network("10.0.2.0/24")
    fabric.run_until(lambda: r1.rib.best(learnt) is not None, timeout=30)
    fabric.speakers[0].stop()
    assert r1.rib.best(learnt) is None
    assert (Table.IPV4_LPM, learnt) not in fabric.switches[0].entries
