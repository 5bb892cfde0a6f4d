"""The routing table calculation (RFC 2328 §16.1) on hand-made databases."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from controller.ospf.constants import MAX_AGE, LsaType, RouterLinkType
from controller.ospf.lsa import Lsa, NetworkLsaBody, RouterLink, RouterLsaBody
from controller.ospf.routes import OspfNextHop
from controller.ospf.spf import calculate

A = IPv4Address
P2P, TRANSIT, STUB = RouterLinkType.POINT_TO_POINT, RouterLinkType.TRANSIT, RouterLinkType.STUB


def rid(n: int) -> IPv4Address:
    return A(f"10.255.0.{n}")


def router(n: int, *links: tuple[str | IPv4Address, str | IPv4Address, RouterLinkType, int]) -> Lsa:
    body = RouterLsaBody(0, tuple(RouterLink(A(i), A(d), t, m) for i, d, t, m in links))
    return Lsa.build(LsaType.ROUTER, rid(n), rid(n), 1, 0x02, body)


def network(dr_address: str, mask: str, dr: int, *attached: int) -> Lsa:
    body = NetworkLsaBody(A(mask), tuple(rid(n) for n in attached))
    return Lsa.build(LsaType.NETWORK, A(dr_address), rid(dr), 1, 0x02, body)


def p2p(a: int, b: int, metric: int = 10) -> list[tuple]:
    """Router a's side of a numbered point-to-point link 10.a.b.0/24 with router b."""
    low, high = min(a, b), max(a, b)
    mine = f"10.{low}.{high}.{1 if a == low else 2}"
    return [(rid(b), mine, P2P, metric), (f"10.{low}.{high}.0", "255.255.255.0", STUB, metric)]


def addresses_of(n: int, *peers: int) -> dict[IPv4Address, str]:
    """Router n's interface addresses on its p2p links, interface named after the peer."""
    return {A(f"10.{min(n, p)}.{max(n, p)}.{1 if n < p else 2}"): f"to{p}" for p in peers}


def neighbors_of(n: int):
    """Router n's view of its p2p neighbours' addresses (what its neighbour structures hold)."""

    def address(interface: str, router_id: IPv4Address) -> IPv4Address:
        other = int(str(router_id).split(".")[-1])
        return A(f"10.{min(n, other)}.{max(n, other)}.{1 if other < n else 2}")

    return address


def hop(interface: str, address: str | None) -> OspfNextHop:
    return OspfNextHop(interface, A(address) if address else None)


def square(metric_12: int = 10) -> list[Lsa]:
    """1 - 2 - 4 and 1 - 3 - 4: two equal paths from 1 to 4, plus a stub on 4."""
    return [
        router(1, *p2p(1, 2, metric_12), *p2p(1, 3)),
        router(2, *p2p(2, 1, metric_12), *p2p(2, 4)),
        router(3, *p2p(3, 1), *p2p(3, 4)),
        router(4, *p2p(4, 2), *p2p(4, 3), ("192.168.4.0", "255.255.255.0", STUB, 1)),
    ]


def test_line_and_stub_routes():
    lsas = [
        router(1, *p2p(1, 2)),
        router(2, *p2p(2, 1), *p2p(2, 3)),
        router(3, *p2p(3, 2), ("192.168.3.0", "255.255.255.0", STUB, 5)),
    ]
    result = calculate(rid(1), lsas, addresses_of(1, 2), neighbors_of(1))
    routes = result.routes
    assert routes[IPv4Network("10.1.2.0/24")].next_hops == (hop("to2", None),)
    assert routes[IPv4Network("10.2.3.0/24")].cost == 20
    assert routes[IPv4Network("10.2.3.0/24")].next_hops == (hop("to2", "10.1.2.2"),)
    assert routes[IPv4Network("192.168.3.0/24")].cost == 25
    assert result.routers[rid(3)][0] == 20


def test_equal_cost_paths_keep_both_next_hops():
    routes = calculate(rid(1), square(), addresses_of(1, 2, 3), neighbors_of(1)).routes
    stub = routes[IPv4Network("192.168.4.0/24")]
    assert stub.cost == 21
    assert stub.next_hops == (hop("to2", "10.1.2.2"), hop("to3", "10.1.3.2"))
    assert stub.preferred == hop("to2", "10.1.2.2")  # the lowest next-hop address
    # The far side of each square edge is reachable at 20 through one neighbour only.
    assert routes[IPv4Network("10.2.4.0/24")].next_hops == (hop("to2", "10.1.2.2"),)


def test_cheaper_path_wins_over_ecmp():
    routes = calculate(rid(1), square(metric_12=5), addresses_of(1, 2, 3), neighbors_of(1)).routes
    assert routes[IPv4Network("192.168.4.0/24")].next_hops == (hop("to2", "10.1.2.2"),)
    assert routes[IPv4Network("192.168.4.0/24")].cost == 16


def test_link_going_away_reroutes():
    lsas = square(metric_12=5)
    # 2 loses its link to 4 (both routers re-originate without it).
    lsas[1] = router(2, *p2p(2, 1, 5))
    lsas[3] = router(4, *p2p(4, 3), ("192.168.4.0", "255.255.255.0", STUB, 1))
    routes = calculate(rid(1), lsas, addresses_of(1, 2, 3), neighbors_of(1)).routes
    assert routes[IPv4Network("192.168.4.0/24")].next_hops == (hop("to3", "10.1.3.2"),)
    assert IPv4Network("10.2.4.0/24") not in routes


def test_one_sided_link_is_not_used():
    # 4 no longer lists 2, but 2's LSA still claims 4: the bidirectional check (§16.1 2b) drops it.
    lsas = square(metric_12=5)
    lsas[3] = router(4, *p2p(4, 3), ("192.168.4.0", "255.255.255.0", STUB, 1))
    routes = calculate(rid(1), lsas, addresses_of(1, 2, 3), neighbors_of(1)).routes
    assert routes[IPv4Network("192.168.4.0/24")].next_hops == (hop("to3", "10.1.3.2"),)
    # 2's stub for the 2-4 subnet is still reachable through 2 itself.
    assert routes[IPv4Network("10.2.4.0/24")].next_hops == (hop("to2", "10.1.2.2"),)


def test_max_age_lsa_is_ignored():
    lsas = square()
    lsas[2] = lsas[2].with_age(MAX_AGE)
    routes = calculate(rid(1), lsas, addresses_of(1, 2, 3), neighbors_of(1)).routes
    assert routes[IPv4Network("192.168.4.0/24")].next_hops == (hop("to2", "10.1.2.2"),)


def test_broadcast_network_next_hop_is_the_routers_address_on_it():
    # 1, 2, 3 on 10.0.0.0/24 (DR 3 at .3); 2 and 3 each have a stub behind them.
    lan = ("10.0.0.3", "255.255.255.0")
    lsas = [
        router(1, ("10.0.0.3", "10.0.0.1", TRANSIT, 10)),
        router(2, ("10.0.0.3", "10.0.0.2", TRANSIT, 10), ("192.168.2.0", "255.255.255.0", STUB, 1)),
        router(3, ("10.0.0.3", "10.0.0.3", TRANSIT, 10), ("192.168.3.0", "255.255.255.0", STUB, 1)),
        network(lan[0], lan[1], 3, 3, 1, 2),
    ]
    routes = calculate(rid(1), lsas, {A("10.0.0.1"): "lan"}, neighbors_of(1)).routes
    assert routes[IPv4Network("10.0.0.0/24")].next_hops == (hop("lan", None),)
    assert routes[IPv4Network("192.168.2.0/24")].next_hops == (hop("lan", "10.0.0.2"),)
    assert routes[IPv4Network("192.168.3.0/24")].next_hops == (hop("lan", "10.0.0.3"),)
    assert routes[IPv4Network("192.168.3.0/24")].cost == 11


def test_router_not_listed_in_network_lsa_is_unreachable_through_it():
    lsas = [
        router(1, ("10.0.0.3", "10.0.0.1", TRANSIT, 10)),
        router(2, ("10.0.0.3", "10.0.0.2", TRANSIT, 10), ("192.168.2.0", "255.255.255.0", STUB, 1)),
        router(3, ("10.0.0.3", "10.0.0.3", TRANSIT, 10)),
        network("10.0.0.3", "255.255.255.0", 3, 3, 1),  # the DR is not (yet) Full with 2
    ]
    routes = calculate(rid(1), lsas, {A("10.0.0.1"): "lan"}, neighbors_of(1)).routes
    assert IPv4Network("192.168.2.0/24") not in routes


def test_ecmp_through_two_lans():
    # 1 reaches 4's stub through LAN a (via 2) or LAN b (via 3) at equal cost.
    lsas = [
        router(1, ("10.0.1.1", "10.0.1.1", TRANSIT, 10), ("10.0.2.1", "10.0.2.1", TRANSIT, 10)),
        router(2, ("10.0.1.1", "10.0.1.2", TRANSIT, 10), *p2p(2, 4)),
        router(3, ("10.0.2.1", "10.0.2.3", TRANSIT, 10), *p2p(3, 4)),
        router(4, *p2p(4, 2), *p2p(4, 3), ("192.168.4.0", "255.255.255.0", STUB, 1)),
        network("10.0.1.1", "255.255.255.0", 1, 1, 2),
        network("10.0.2.1", "255.255.255.0", 1, 1, 3),
    ]
    interfaces = {A("10.0.1.1"): "a", A("10.0.2.1"): "b"}
    routes = calculate(rid(1), lsas, interfaces, neighbors_of(1)).routes
    assert routes[IPv4Network("192.168.4.0/24")].next_hops == (hop("a", "10.0.1.2"), hop("b", "10.0.2.3"))


def test_no_own_router_lsa_means_no_routes():
    assert calculate(rid(9), square(), {}, neighbors_of(9)).routes == {}


def test_lan_reached_directly_and_through_a_neighbour_at_equal_cost():
    # 1 is on the LAN (cost 2) and also reaches it through 3 (1 + 1). Across the LAN the next hop
    # to 2 is 2's LAN address; through 3 it stays 3: mixing the two would be wrong.
    lsas = [
        router(1, ("10.0.0.1", "10.0.0.1", TRANSIT, 2), *p2p(1, 3, 1)),
        router(2, ("10.0.0.1", "10.0.0.2", TRANSIT, 1), ("192.168.2.0", "255.255.255.0", STUB, 1)),
        router(3, ("10.0.0.1", "10.0.0.3", TRANSIT, 1), *p2p(3, 1, 1)),
        network("10.0.0.1", "255.255.255.0", 1, 1, 2, 3),
    ]
    interfaces = {A("10.0.0.1"): "lan", A("10.1.3.1"): "to3"}
    routes = calculate(rid(1), lsas, interfaces, neighbors_of(1)).routes
    assert routes[IPv4Network("192.168.2.0/24")].cost == 3
    assert routes[IPv4Network("192.168.2.0/24")].next_hops == (hop("lan", "10.0.0.2"), hop("to3", "10.1.3.2"))
