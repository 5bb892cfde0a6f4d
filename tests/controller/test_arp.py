"""ARP against the reference model: answering, learning, resolving, holding, aging."""

from __future__ import annotations

from ipaddress import IPv4Address

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from controller.intent import Table
from sim.model import Forward, MacAddress, Punt, PuntReason

from .conftest import GATEWAY, HOST_A, HOST_B


def _arps(frames):
    return [(port, Ether(frame)) for port, frame in frames if Ether(frame).haslayer(ARP)]


def _arps_on(switch, port):
    """ARP frames the switch sent on ``port`` (the silent gateway keeps port 2 busy)."""
    return [(p, e) for p, e in _arps(switch.take_wire()) if p == port]


def test_startup_announces_every_interface_and_resolves_route_gateways(router, switch):
    arps = _arps(switch.take_wire())
    gratuitous = [(p, e) for p, e in arps if e[ARP].psrc == e[ARP].pdst]
    assert {(p, e[ARP].psrc, e.src, e.dst) for p, e in gratuitous} == {
        (1, "10.0.1.1", "02:00:00:00:01:01", "ff:ff:ff:ff:ff:ff"),
        (2, "10.0.2.1", "02:00:00:00:02:01", "ff:ff:ff:ff:ff:ff"),
    }
    requests = [(p, e[ARP].pdst) for p, e in arps if e[ARP].psrc != e[ARP].pdst]
    assert requests == [(2, "10.0.2.254")]  # the static route's gateway, ahead of traffic


def test_a_request_for_our_address_is_answered_and_the_asker_learned(router, switch):
    switch.take_wire()
    outcome = switch.receive(1, HOST_A.arp_request("10.0.1.1"))
    assert isinstance(outcome, Punt) and outcome.reason is PuntReason.ARP
    [(port, reply)] = _arps(switch.take_wire())
    assert port == 1
    assert (reply.dst, reply.src) == (HOST_A.mac, HOST_A.router_mac)
    assert (reply[ARP].op, reply[ARP].hwsrc, reply[ARP].psrc) == (2, HOST_A.router_mac, "10.0.1.1")
    assert (reply[ARP].hwdst, reply[ARP].pdst) == (HOST_A.mac, HOST_A.ip)
    assert switch.entries[(Table.ARP, IPv4Address(HOST_A.ip))] == MacAddress.parse(HOST_A.mac)


def test_requests_for_other_addresses_are_not_answered_nor_learned(router, switch):
    switch.take_wire()
    switch.receive(1, HOST_A.arp_request("10.0.1.99"))  # someone else on the subnet
    switch.receive(1, HOST_A.arp_request("10.0.2.1"))  # our address, but on another interface
    assert _arps(switch.take_wire()) == []
    assert (Table.ARP, IPv4Address(HOST_A.ip)) not in switch.entries


def test_a_known_neighbour_that_changes_its_mac_is_updated(router, switch):
    switch.receive(1, HOST_A.arp_request("10.0.1.1"))
    moved = HOST_A.__class__("A'", 1, "02:aa:00:00:00:99", HOST_A.ip, HOST_A.router_mac, HOST_A.router_ip)
    switch.receive(1, moved.arp_request("10.0.1.99"))  # not to us, but A is known: merge
    assert switch.entries[(Table.ARP, IPv4Address(HOST_A.ip))] == MacAddress.parse(moved.mac)


def test_an_arp_miss_is_resolved_and_the_held_packet_forwarded_as_the_pipeline_would(router, switch):
    switch.take_wire()
    ping = HOST_A.ip_to(HOST_B.ip, ttl=9)
    outcome = switch.receive(1, ping)
    assert isinstance(outcome, Punt) and outcome.reason is PuntReason.ARP_MISS
    [(port, request)] = _arps(switch.take_wire())
    assert port == 2 and request.dst == "ff:ff:ff:ff:ff:ff"
    assert (request[ARP].op, request[ARP].psrc, request[ARP].pdst) == (1, "10.0.2.1", HOST_B.ip)
    assert request[ARP].hwsrc == HOST_B.router_mac

    switch.receive(2, HOST_B.arp_reply(HOST_B.router_mac, HOST_B.router_ip))
    [(port, frame)] = switch.take_wire()
    # The controller's re-injection must equal what the pipeline now does with the same frame.
    expected = switch.pipeline().decide(ping, 1)
    assert isinstance(expected, Forward)
    assert (port, frame) == (expected.port, expected.frame)
    assert Ether(frame)[IP].ttl == 8 and Ether(frame).dst == HOST_B.mac


def test_held_packets_are_bounded_and_dropped_with_a_count_when_resolution_fails(router, switch, clock):
    switch.take_wire()
    for seq in range(5):  # queue_length is 3
        switch.receive(1, HOST_A.ip_to("10.0.2.77", ICMP(type=8, seq=seq)))
    assert router.counters["arp_dropped_queue_full"] == 2

    def requests_for_target():
        return [e for _, e in _arps(switch.take_wire()) if e[ARP].pdst == "10.0.2.77"]

    assert len(requests_for_target()) == 1
    request_times = [clock.now()]
    for _ in range(20):
        clock.advance(0.5)
        if requests_for_target():
            request_times.append(clock.now())
    # First request, then retries after 1 s and 2 s (max_retries = 2), then give up after 4 s more.
    assert [t - request_times[0] for t in request_times] == [0.0, 1.0, 3.0]
    assert router.counters["arp_resolution_failed"] == 2  # and the silent gateway 10.0.2.254
    assert router.counters["arp_dropped_unresolved"] == 3
    assert IPv4Address("10.0.2.77") not in router.arp.resolving
    assert requests_for_target() == []


def test_entries_are_refreshed_before_expiry_and_removed_when_the_neighbour_is_gone(router, switch, clock):
    switch.receive(1, HOST_A.arp_request("10.0.1.1"))
    switch.take_wire()
    key = (Table.ARP, IPv4Address(HOST_A.ip))
    clock.advance(49.9)  # reachable_time 60, refresh_margin 10
    assert _arps_on(switch, 1) == []
    clock.advance(0.2)
    [(port, poll)] = _arps_on(switch, 1)
    assert (port, poll.dst, poll[ARP].pdst) == (1, HOST_A.mac, HOST_A.ip)  # unicast poll
    switch.receive(1, HOST_A.arp_reply(HOST_A.router_mac, HOST_A.router_ip))
    installs = len(switch.change_sets)
    clock.advance(55)  # confirmed: lives until 110 s; next poll at 100 s
    assert key in switch.entries and len(switch.change_sets) == installs  # no rewrite for a refresh
    clock.advance(60)  # polls at 100, 101, 103 go unanswered
    assert key not in switch.entries
    assert router.counters["arp_entries_expired"] == 1


def test_gateway_answer_installs_it_and_routes_through_it_work(router, switch):
    switch.take_wire()
    switch.receive(2, GATEWAY.arp_reply(GATEWAY.router_mac, GATEWAY.router_ip))
    assert switch.entries[(Table.ARP, IPv4Address(GATEWAY.ip))] == MacAddress.parse(GATEWAY.mac)
    outcome = switch.receive(1, HOST_A.ip_to("192.168.3.4"))
    assert isinstance(outcome, Forward) and outcome.port == 2
    assert Ether(outcome.frame).dst == GATEWAY.mac


def test_arp_from_off_subnet_senders_and_group_macs_is_ignored(router, switch):
    stranger = HOST_A.__class__(
        "X", 1, "02:dd:00:00:00:01", "172.16.0.1", HOST_A.router_mac, HOST_A.router_ip
    )
    switch.receive(1, stranger.arp_request("10.0.1.1"))
    assert router.counters["arp_sender_off_subnet"] == 1
    bad = Ether(dst="ff:ff:ff:ff:ff:ff", src=HOST_A.mac) / ARP(
        op=1, hwsrc="01:00:5e:00:00:01", psrc=HOST_A.ip, pdst="10.0.1.1"
    )
    switch.receive(1, bytes(bad))
    assert router.counters["arp_bad_sender"] == 1
    assert not any(t is Table.ARP for t, _ in switch.entries)


def test_arp_miss_punts_that_raced_a_route_change_are_answered_sensibly(router, switch):
    switch.receive(1, HOST_A.arp_request("10.0.1.1"))
    switch.take_wire()
    # Punted ARP_MISS frames whose route has gone (or became a null route) since the punt.
    router.handle_packet_in(1, PuntReason.ARP_MISS, HOST_A.ip_to("8.8.8.8"))
    [(port, unreachable)] = switch.take_wire()
    assert port == 1 and Ether(unreachable)[ICMP].type == 3
    router.handle_packet_in(1, PuntReason.ARP_MISS, HOST_A.ip_to("10.99.0.1"))
    assert switch.take_wire() == [] and router.counters["arp_miss_null_route"] == 1
    router.handle_packet_in(1, PuntReason.ARP_MISS, HOST_A.ip_to(HOST_B.ip, ttl=1))
    [(port, expired)] = switch.take_wire()
    assert Ether(expired)[ICMP].type == 11
