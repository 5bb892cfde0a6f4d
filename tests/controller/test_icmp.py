"""ICMP the router generates, checked with scapy on what the reference model puts on the wire."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP, UDP, IPerror, UDPerror
from scapy.layers.l2 import Ether

from .conftest import HOST_A


def _ready(switch):
    """Host A has asked for the router, so the router knows A's MAC and can answer it."""
    switch.receive(1, HOST_A.arp_request("10.0.1.1"))
    switch.take_wire()


def _icmp_out(switch):
    frames = [Ether(f) for p, f in switch.take_wire() if Ether(f).haslayer(ICMP)]
    return frames


def test_echo_to_our_address_is_answered_with_options_and_payload(router, switch):
    _ready(switch)
    options = b"\x01\x01\x01\x00"  # NOP NOP NOP EOL
    request = Ether(HOST_A.ip_to("10.0.2.1", ICMP(type=8, id=0x1234, seq=9) / (b"x" * 100), options=options))
    switch.receive(1, bytes(request))
    [reply] = _icmp_out(switch)
    assert (reply.dst, reply.src) == (HOST_A.mac, HOST_A.router_mac)
    assert (reply[IP].src, reply[IP].dst) == ("10.0.2.1", HOST_A.ip)
    assert bytes(reply[IP])[20:24] == options
    assert (reply[ICMP].type, reply[ICMP].code, reply[ICMP].id, reply[ICMP].seq) == (0, 0, 0x1234, 9)
    assert bytes(reply[ICMP].payload) == b"x" * 100
    # Checksums are right: scapy recomputes them when the fields are cleared.
    rebuilt = reply.copy()
    del rebuilt[IP].chksum, rebuilt[ICMP].chksum
    assert bytes(Ether(bytes(rebuilt))) == bytes(reply)


def test_ttl_expiry_gets_time_exceeded_from_the_ingress_address_quoting_header_and_8_bytes(router, switch):
    _ready(switch)
    probe = HOST_A.ip_to("10.0.2.20", UDP(sport=40000, dport=33434) / (b"p" * 30), ttl=1)
    switch.receive(1, probe)
    [error] = _icmp_out(switch)
    assert (error[IP].src, error[IP].dst) == ("10.0.1.1", HOST_A.ip)
    assert (error[ICMP].type, error[ICMP].code) == (11, 0)
    quoted = bytes(error[ICMP])[8:]
    original_ip = bytes(Ether(probe)[IP])
    assert quoted == original_ip[:28]
    assert error[IPerror].ttl == 1 and error[UDPerror].dport == 33434


def test_no_route_gets_net_unreachable(router, switch):
    _ready(switch)
    switch.receive(1, HOST_A.ip_to("8.8.8.8"))
    [error] = _icmp_out(switch)
    assert (error[ICMP].type, error[ICMP].code, error[IP].src) == (3, 0, "10.0.1.1")


def test_udp_to_our_address_gets_port_unreachable(router, switch):
    _ready(switch)
    switch.receive(1, HOST_A.ip_to("10.0.1.1", UDP(sport=5, dport=33434)))
    [error] = _icmp_out(switch)
    assert (error[ICMP].type, error[ICMP].code) == (3, 3)


def test_no_error_about_an_icmp_error_a_fragment_or_a_broadcast(router, switch):
    _ready(switch)
    an_error = ICMP(type=3, code=1) / IP(src="10.0.1.10", dst="9.9.9.9") / UDP()
    switch.receive(1, HOST_A.ip_to("8.8.8.8", an_error))
    switch.receive(1, HOST_A.ip_to("8.8.8.8", UDP() / b"later", frag=100))
    broadcast = Ether(HOST_A.ip_to("8.8.8.8"))
    broadcast.dst = "ff:ff:ff:ff:ff:ff"
    switch.receive(1, bytes(broadcast))  # the pipeline drops it; never reaches us
    assert _icmp_out(switch) == []
    assert router.counters["icmp_error_suppressed_about_icmp_error"] == 1
    assert router.counters["icmp_error_suppressed_fragment"] == 1
    # An echo request (not an error) still gets its error.
    switch.receive(1, HOST_A.ip_to("8.8.8.8"))
    assert len(_icmp_out(switch)) == 1


def test_errors_are_rate_limited_by_a_token_bucket(router, switch, clock):
    _ready(switch)
    sent = []
    for _ in range(5):  # burst 2, 1 per second
        switch.receive(1, HOST_A.ip_to("8.8.8.8"))
        sent.append(len(_icmp_out(switch)))
    assert sent == [1, 1, 0, 0, 0]
    assert router.counters["icmp_rate_limited"] == 3
    clock.advance(1.0)
    switch.receive(1, HOST_A.ip_to("8.8.8.8"))
    switch.receive(1, HOST_A.ip_to("8.8.8.8"))
    assert len(_icmp_out(switch)) == 1


def test_reply_to_a_host_not_yet_resolved_waits_for_arp(router, switch):
    switch.take_wire()
    switch.receive(1, HOST_A.ip_to("10.0.1.1"))  # A never ARPed for us: the reply needs A's MAC
    frames = [Ether(f) for _, f in switch.take_wire()]
    assert [f.haslayer(ICMP) for f in frames] == [False]  # just our ARP request for A
    switch.receive(1, HOST_A.arp_reply(HOST_A.router_mac, HOST_A.router_ip))
    [reply] = _icmp_out(switch)
    assert reply[ICMP].type == 0 and reply.dst == HOST_A.mac
