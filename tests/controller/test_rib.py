"""The RIB: administrative distance, the minimal FIB change sets, and what reaches the switch."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

from controller.config import parse_config
from controller.intent import DELIVER_LOCAL, Table, apply_changes, entries_of
from controller.rib import DEFAULT_DISTANCE, Rib, Route, Source, connected_routes, static_routes
from sim.model import Direct, Drop, DropReason, Forward, NextHop, NullRoute
from sim.model.lpm import ReferenceLpm

from .conftest import GATEWAY, HOST_A, ROUTER_TOML

NET = IPv4Network("172.16.0.0/12")
VIA_GW = NextHop(IPv4Address("10.0.2.254"), 2)
VIA_OTHER = NextHop(IPv4Address("10.0.1.254"), 1)


def lpm(prefix, action):
    return {(Table.IPV4_LPM, IPv4Network(prefix)): action}


def test_the_lowest_distance_wins_and_only_real_changes_are_reported():
    rib = Rib()
    assert rib.add(Route(NET, Source.OSPF, VIA_OTHER, 110)) == lpm(NET, VIA_OTHER)
    assert rib.add(Route(NET, Source.STATIC, VIA_GW, 1)) == lpm(NET, VIA_GW)
    # OSPF changes its mind about a route that is not the best: nothing to write.
    assert rib.replace_source(Source.OSPF, [Route(NET, Source.OSPF, NullRoute(), 110)]) == {}
    # The static route goes: OSPF's becomes best.
    assert rib.remove(NET, Source.STATIC) == lpm(NET, NullRoute())
    # A floating static (distance 200) loses to OSPF...
    assert rib.add(Route(NET, Source.STATIC, VIA_GW, 200)) == {}
    # ...and takes over when OSPF withdraws everything.
    assert rib.replace_source(Source.OSPF, []) == lpm(NET, VIA_GW)
    assert rib.remove(NET, Source.STATIC) == {(Table.IPV4_LPM, NET): None}
    assert rib.fib() == {}


def test_a_best_route_from_another_source_with_the_same_action_is_no_write():
    rib = Rib()
    rib.add(Route(NET, Source.OSPF, VIA_GW, 110))
    assert rib.add(Route(NET, Source.STATIC, VIA_GW, 1)) == {}
    assert rib.best(NET).source is Source.STATIC


def test_replace_source_withdraws_what_it_no_longer_offers():
    rib = Rib()
    a, b, c = (IPv4Network(f"10.{i}.0.0/16") for i in (1, 2, 3))
    rib.replace_source(Source.OSPF, [Route(a, Source.OSPF, VIA_GW, 110), Route(b, Source.OSPF, VIA_GW, 110)])
    changes = rib.replace_source(
        Source.OSPF, [Route(b, Source.OSPF, VIA_OTHER, 110), Route(c, Source.OSPF, VIA_GW, 110)]
    )
    assert changes == {**lpm(a, None), **lpm(b, VIA_OTHER), **lpm(c, VIA_GW)}
    assert rib.lookup(IPv4Address("10.2.3.4")) == (b, VIA_OTHER)
    assert rib.lookup(IPv4Address("10.1.3.4")) is None


def test_connected_subnets_get_direct_routes_and_null_routes_for_their_broadcast(config):
    routes = {(r.prefix, r.action) for r in connected_routes(config.interfaces)}
    assert routes == {
        (IPv4Network("10.0.1.0/24"), Direct(1)),
        (IPv4Network("10.0.1.255/32"), NullRoute()),
        (IPv4Network("10.0.2.0/24"), Direct(2)),
        (IPv4Network("10.0.2.255/32"), NullRoute()),
    }


def test_static_next_hops_resolve_through_connected_subnets_only():
    text = ROUTER_TOML + '\n[[static_route]]\nprefix = "10.50.0.0/16"\nnext_hop = "172.31.0.1"\n'
    text += '\n[[static_route]]\nprefix = "10.60.0.0/16"\ninterface = "eth1"\n'
    routes, unresolved = static_routes(parse_config(text))
    assert {(str(r.prefix), r.action) for r in routes} == {
        ("192.168.0.0/16", VIA_GW),
        ("10.99.0.0/16", NullRoute()),
        ("10.60.0.0/16", Direct(1)),
    }
    [(static, why)] = unresolved
    assert static.prefix == IPv4Network("10.50.0.0/16") and "no connected subnet" in why


def test_the_router_installs_exactly_its_intent_in_one_change_set(router, switch):
    first = switch.change_sets[0]
    assert first == {k: v for k, v in router.intent().items() if k[0] is not Table.ARP}
    assert first[(Table.LOCAL_IP, IPv4Address("10.0.1.1"))] is DELIVER_LOCAL
    assert first[(Table.ROUTER_MAC, 2)] == first[(Table.PORT_MAC, 2)]
    assert entries_of(router.table_state()) == router.intent()


def test_a_directed_broadcast_is_dropped_by_the_null_route(router, switch):
    outcome = switch.receive(1, HOST_A.ip_to("10.0.2.255"))
    assert outcome == Drop(DropReason.NULL_ROUTE)
    assert switch.receive(1, HOST_A.ip_to("10.99.1.1")) == Drop(DropReason.NULL_ROUTE)


def test_routes_from_a_later_source_reach_the_switch_and_the_model_forwards_on_them(router, switch):
    ospf = [Route(IPv4Network("172.20.0.0/16"), Source.OSPF, VIA_GW, 110)]
    before = len(switch.change_sets)
    router.update_routes(Source.OSPF, ospf)
    assert switch.change_sets[before] == lpm("172.20.0.0/16", VIA_GW)
    router.update_routes(Source.OSPF, ospf)  # unchanged: no write
    assert len(switch.change_sets) == before + 1
    assert switch.entries == router.intent()
    switch.receive(2, GATEWAY.arp_reply(GATEWAY.router_mac, GATEWAY.router_ip))
    outcome = switch.receive(1, HOST_A.ip_to("172.20.1.1"))
    assert isinstance(outcome, Forward) and outcome.port == 2
    assert Ether(outcome.frame).dst == GATEWAY.mac and Ether(outcome.frame)[IP].dst == "172.20.1.1"


def test_incremental_changes_from_a_source_touch_only_their_prefixes(router, switch):
    a, b = IPv4Network("172.21.0.0/16"), IPv4Network("172.22.0.0/16")
    router.change_routes(
        Source.OSPF, [Route(a, Source.OSPF, VIA_GW, 110), Route(b, Source.OSPF, VIA_GW, 110)], []
    )
    assert switch.change_sets[-1] == {**lpm(a, VIA_GW), **lpm(b, VIA_GW)}
    router.change_routes(Source.OSPF, [Route(b, Source.OSPF, NullRoute(), 110)], [a])
    assert switch.change_sets[-1] == {**lpm(a, None), **lpm(b, NullRoute())}
    # Withdrawing what OSPF never offered, or offering the same again, writes nothing.
    sets = len(switch.change_sets)
    router.change_routes(Source.OSPF, [Route(b, Source.OSPF, NullRoute(), 110)], [a])
    assert len(switch.change_sets) == sets
    assert switch.entries == router.intent()


def test_a_link_local_frame_goes_out_unchanged(router, switch):
    switch.take_wire()
    frame = bytes(
        Ether(dst="01:00:5e:00:00:05", src="02:00:00:00:01:01") / IP(dst="224.0.0.5", ttl=1, proto=89)
    )
    router.send_frame(1, frame)
    assert switch.take_wire() == [(1, frame)]


prefixes = st.builds(
    lambda address, length: IPv4Network((address >> (32 - length) << (32 - length), length)),
    st.integers(0, 2**32 - 1) | st.sampled_from([0x0A000000, 0x0A010000, 0x0A010100]),
    st.sampled_from([0, 8, 16, 24, 32]) | st.integers(0, 32),
)
offers = st.dictionaries(prefixes, st.sampled_from([VIA_GW, VIA_OTHER, Direct(1), NullRoute()]), max_size=30)


@given(
    st.lists(st.tuples(st.sampled_from(list(Source)), offers), max_size=6),
    st.lists(st.integers(0, 2**32 - 1)),
)
def test_the_fib_is_what_its_change_sets_add_up_to_and_looks_up_as_the_oracle_does(steps, addresses):
    rib, installed = Rib(), {}
    for source, offered in steps:
        routes = [Route(p, source, action, DEFAULT_DISTANCE[source]) for p, action in offered.items()]
        apply_changes(installed, rib.replace_source(source, routes))
    assert installed == {(Table.IPV4_LPM, prefix): action for prefix, action in rib.fib().items()}
    oracle = ReferenceLpm()
    for prefix, action in rib.fib().items():
        oracle.insert(prefix, action)
    for address in [*addresses, *(int(p.network_address) for p in rib.fib())]:
        assert rib.lookup(IPv4Address(address)) == oracle.lookup(address)
