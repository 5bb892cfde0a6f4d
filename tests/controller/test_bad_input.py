"""Garbage in packet-ins is counted and ignored: the controller never raises (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.clock import FakeClock
from controller.config import parse_config
from controller.intent import table_state_of
from controller.router import Router
from sim.model import PuntReason

from .conftest import HOST_A, ROUTER_TOML
from .model_switch import ModelSwitch

CONFIG = parse_config(ROUTER_TOML, "r1.toml")
VALID_ARP = HOST_A.arp_request("10.0.1.1")
VALID_PING = HOST_A.ip_to("10.0.1.1")
VALID_TTL_EXPIRED = HOST_A.ip_to("10.0.2.20", ttl=1)


def fresh_router() -> tuple[Router, ModelSwitch]:
    switch = ModelSwitch(num_ports=CONFIG.num_ports)
    router = Router(CONFIG, FakeClock(), switch)
    switch.router = router
    router.start()
    router.connected()
    switch.take_wire()
    return router, switch


@st.composite
def mutated(draw, frame: bytes):
    """A valid frame with some bytes overwritten, then cut or extended."""
    data = bytearray(frame)
    for _ in range(draw(st.integers(1, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data) + 8))
    return bytes(data[:cut]) + draw(st.binary(max_size=max(0, cut - len(data))))


FRAMES = st.one_of(
    st.binary(max_size=120),
    mutated(VALID_ARP),
    mutated(VALID_PING),
    mutated(VALID_TTL_EXPIRED),
)
PACKET_INS = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 9), FRAMES),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PACKET_INS)
def test_any_packet_in_is_handled_without_raising(packet_ins):
    router, switch = fresh_router()
    for port, reason, frame in packet_ins:
        router.handle_packet_in(port, reason, frame)
    # Whatever was learned is still something every data plane can hold.
    table_state_of(switch.entries, CONFIG.num_ports).validate()
    assert switch.entries == router.intent()
    assert router.counters["packet_in"] == len(packet_ins)


def test_each_kind_of_garbage_lands_in_its_counter():
    router, _ = fresh_router()
    router.handle_packet_in(1, PuntReason.ARP, VALID_ARP[:30])
    router.handle_packet_in(1, PuntReason.ARP, VALID_ARP[:20] + b"\x00\x09" + VALID_ARP[22:])  # opcode 9
    router.handle_packet_in(1, PuntReason.LOCAL, VALID_PING[:-1] + bytes([VALID_PING[-1] ^ 1]))  # ICMP csum
    router.handle_packet_in(1, PuntReason.LOCAL, VALID_PING[:24])
    router.handle_packet_in(1, PuntReason.TTL_EXPIRED, b"\x00" * 10)
    router.handle_packet_in(1, 77, VALID_PING)
    router.handle_packet_in(999, PuntReason.LOCAL, VALID_PING)
    assert router.counters["arp_malformed"] == 2
    assert router.counters["icmp_malformed"] == 2
    assert router.counters["local_malformed"] == 1
    assert router.counters["packet_in_bad_reason"] == 1
    assert router.counters["packet_in_bad_port"] == 1
