"""A two-interface router on the reference model, with hosts to talk to it."""

from __future__ import annotations

from dataclasses import dataclass

import finsy.switch
import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from controller.clock import FakeClock
from controller.config import RouterConfig, parse_config
from controller.router import Router

from .model_switch import ModelSwitch

#: The test router's two interfaces, nothing else (the controller benchmark's router too).
TWO_INTERFACES_TOML = """
router_id = "1.1.1.1"

[[interface]]
name = "eth1"
port = 1
mac = "02:00:00:00:01:01"
address = "10.0.1.1/24"

[[interface]]
name = "eth2"
port = 2
mac = "02:00:00:00:02:01"
address = "10.0.2.1/24"
"""

ROUTER_TOML = (
    TWO_INTERFACES_TOML
    + """
[[static_route]]
prefix = "192.168.0.0/16"
next_hop = "10.0.2.254"

[[static_route]]
prefix = "10.99.0.0/16"
null = true

[arp]
reachable_time = 60.0
refresh_margin = 10.0
retry_interval = 1.0
retry_backoff = 2.0
max_retries = 2
queue_length = 3

[icmp]
error_rate = 1.0
error_burst = 2
"""
)


@dataclass(frozen=True)
class Host:
    name: str
    port: int
    mac: str
    ip: str
    router_mac: str
    router_ip: str

    def arp_request(self, target: str) -> bytes:
        return bytes(
            Ether(dst="ff:ff:ff:ff:ff:ff", src=self.mac)
            / ARP(op=1, hwsrc=self.mac, psrc=self.ip, hwdst="00:00:00:00:00:00", pdst=target)
        )

    def arp_reply(self, to_mac: str, to_ip: str) -> bytes:
        return bytes(
            Ether(dst=to_mac, src=self.mac)
            / ARP(op=2, hwsrc=self.mac, psrc=self.ip, hwdst=to_mac, pdst=to_ip)
        )

    def ip_to(self, dst: str, payload=None, **ip_fields) -> bytes:
        payload = payload if payload is not None else ICMP(type=8, id=7, seq=1) / b"ping-payload"
        return bytes(
            Ether(dst=self.router_mac, src=self.mac) / IP(src=self.ip, dst=dst, **ip_fields) / payload
        )


HOST_A = Host("A", 1, "02:aa:00:00:00:0a", "10.0.1.10", "02:00:00:00:01:01", "10.0.1.1")
HOST_B = Host("B", 2, "02:bb:00:00:00:0b", "10.0.2.20", "02:00:00:00:02:01", "10.0.2.1")
GATEWAY = Host("GW", 2, "02:cc:00:00:00:fe", "10.0.2.254", "02:00:00:00:02:01", "10.0.2.1")


@pytest.fixture
def config() -> RouterConfig:
    return parse_config(ROUTER_TOML, "r1.toml")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def switch(config) -> ModelSwitch:
    return ModelSwitch(num_ports=config.num_ports)


@pytest.fixture
def router(config, clock, switch) -> Router:
    router = Router(config, clock, switch)
    switch.router = router
    router.start()
    router.connected()
    return router


@pytest.fixture
def quick_retry(monkeypatch):
    """finsy waits 10 s before reconnecting after a session shorter than 2 s; tests restart sooner."""
    monkeypatch.setattr(finsy.switch, "_FAIL_THROTTLE_SECS", 0.2)
