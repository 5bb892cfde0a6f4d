"""Several of our instances wired together in memory: adjacencies, DR election, routes, reconvergence."""

from __future__ import annotations

from ipaddress import IPv4Address

from controller.ospf.config import NetworkType
from controller.ospf.constants import MAX_AGE, LsaType
from controller.ospf.interface import InterfaceState
from controller.ospf.lsa import LsaKey
from controller.ospf.neighbor import NeighborState

from .network import Network

P2P = NetworkType.POINT_TO_POINT
FAST = {"hello_interval": 1, "dead_interval": 3}


def ring(n: int, **settings: object) -> Network:
    """Routers r0..r(n-1) in a ring of point-to-point links l{i} = r{i} -- r{i+1}, each with a stub LAN."""
    net = Network()
    routers = [net.router(f"r{i}", f"10.255.0.{i + 1}") for i in range(n)]
    for i in range(n):
        j = (i + 1) % n
        net.connect(f"l{i}", routers[i], f"to{j}", f"10.{i}.{j}.1/24", network=P2P, **settings)
        net.connect(f"l{i}", routers[j], f"to{i}", f"10.{i}.{j}.2/24", network=P2P, **settings)
        net.connect(f"lan{i}", routers[i], "lan", f"192.168.{i}.1/24", passive=True)
    net.start()
    return net


def converged(net: Network, routes: int) -> bool:
    return net.all_full() and all(len(r.rib) == routes for r in net.routers.values())


def test_ring_reaches_full_and_computes_shortest_paths():
    net = ring(5, **FAST)
    # 5 transit subnets + 5 LANs, minus each router's 3 directly attached ones.
    net.run_until(lambda: converged(net, 7), timeout=60)
    r0 = net.routers["r0"]
    assert set(r0.neighbor_states().values()) == {NeighborState.FULL}
    assert r0.next_hops("192.168.1.0/24") == {("10.0.1.2", "to1")}
    assert r0.next_hops("192.168.4.0/24") == {("10.4.0.1", "to4")}
    assert r0.rib[next(p for p in r0.rib if str(p) == "192.168.2.0/24")].cost == 30
    # Every router holds all five router-LSAs, the same instances.
    databases = [sorted((h.key, h.seq) for h in r.instance.lsdb.headers()) for r in net.routers.values()]
    assert all(db == databases[0] for db in databases) and len(databases[0]) == 5


def test_even_ring_has_equal_cost_paths_to_the_far_side():
    net = ring(4, **FAST)
    net.run_until(lambda: converged(net, 5), timeout=60)
    r0 = net.routers["r0"]
    assert r0.next_hops("192.168.2.0/24") == {("10.0.1.2", "to1"), ("10.3.0.1", "to3")}
    route = next(r for p, r in r0.rib.items() if str(p) == "192.168.2.0/24")
    assert route.preferred.address == IPv4Address("10.0.1.2")


def reroute(net: Network, carrier_loss: bool) -> float:
    """Converges a 5-ring, cuts r0--r1, and returns the protocol time until r0 reaches r1's LAN via r4."""
    r0 = net.routers["r0"]
    net.run_until(lambda: converged(net, 7), timeout=60)
    net.clock.advance(10)  # past MinLSInterval of the initial originations
    net.cut("l0", carrier_loss=carrier_loss)
    detour = {("10.4.0.1", "to4")}
    return net.run_until(lambda: r0.next_hops("192.168.1.0/24") == detour, timeout=10, step=0.01)


def test_link_cut_with_carrier_loss_reroutes_and_restores():
    net = ring(5, **FAST)
    assert reroute(net, carrier_loss=True) < 1.0  # interface down: no dead interval to wait for
    r0 = net.routers["r0"]
    assert "10.0.1.0/24" not in {str(p) for p in r0.rib}  # only r0 and r1 had it, both lost it
    net.restore("l0")
    net.run_until(lambda: r0.next_hops("192.168.1.0/24") == {("10.0.1.2", "to1")}, timeout=30)


def test_silent_link_failure_is_found_by_the_dead_interval():
    took = reroute(ring(5, hello_interval=1, dead_interval=2), carrier_loss=False)
    assert 1.0 < took < 2.5  # the dead interval, then flooding and SPF in milliseconds


def test_one_second_dead_interval_reroutes_within_a_second_and_a_half():
    took = reroute(ring(5, dead_interval=1, hello_multiplier=4), carrier_loss=False)
    assert 0.75 <= took < 1.5  # protocol time: the dead interval less at most one 250 ms hello


def test_lossy_link_still_converges_by_retransmission():
    # One packet in three lost, everywhere: hellos, DDs, requests, updates and acks alike.
    net = ring(4, hello_interval=1, dead_interval=4, retransmit_interval=1)
    sent = iter(range(10**9))
    lost = 0

    def lose_every_third(link, sender, datagram) -> bool:
        nonlocal lost
        keep = next(sent) % 3 != 0
        lost += not keep
        return keep

    net.filter = lose_every_third
    net.run_until(lambda: converged(net, 5), timeout=120)
    assert lost > 20
    r0 = net.routers["r0"]
    assert r0.next_hops("192.168.2.0/24") == {("10.0.1.2", "to1"), ("10.3.0.1", "to3")}


def test_broadcast_lan_elects_dr_and_bdr_and_drothers_stay_two_way():
    net = Network()
    routers = [net.router(f"r{i}", f"10.255.0.{i}") for i in range(1, 5)]
    for i, router in enumerate(routers, 1):
        net.connect("lan", router, "eth", f"10.0.0.{i}/24", priority=0 if i == 4 else 1)
        net.connect(f"stub{i}", router, "stub", f"192.168.{i}.1/24", passive=True)
    net.start()
    net.run_until(lambda: converged(net, 3), timeout=120)
    states = {r.name: r.instance.interfaces["eth"].state for r in routers}
    assert states == {
        "r1": InterfaceState.DR_OTHER,
        "r2": InterfaceState.BACKUP,
        "r3": InterfaceState.DR,
        "r4": InterfaceState.DR_OTHER,  # priority 0: never elected
    }
    assert routers[0].neighbor_states()[IPv4Address("10.255.0.4")] == NeighborState.TWO_WAY
    assert routers[0].next_hops("192.168.4.0/24") == {("10.0.0.4", "eth")}
    network_lsa = routers[0].instance.lsdb.get(
        LsaKey(LsaType.NETWORK, IPv4Address("10.0.0.3"), IPv4Address("10.255.0.3"))
    )
    assert network_lsa is not None
    assert sorted(map(str, network_lsa.body.attached)) == [
        "10.255.0.1",
        "10.255.0.2",
        "10.255.0.3",
        "10.255.0.4",
    ]


def test_dr_failure_bdr_takes_over_and_old_network_lsa_is_flushed():
    net = Network()
    routers = [net.router(f"r{i}", f"10.255.0.{i}") for i in range(1, 4)]
    for i, router in enumerate(routers, 1):
        net.connect("lan", router, "eth", f"10.0.0.{i}/24", hello_interval=1, dead_interval=3)
        net.connect(f"stub{i}", router, "stub", f"192.168.{i}.1/24", passive=True)
    net.start()
    net.run_until(lambda: converged(net, 2), timeout=60)
    dr = routers[2]
    assert dr.instance.interfaces["eth"].state == InterfaceState.DR
    dr.instance.stop()  # the DR dies silently
    net.links["lan"].attachments = [a for a in net.links["lan"].attachments if a.router is not dr]
    roles = (InterfaceState.BACKUP, InterfaceState.DR)
    net.run_until(lambda: tuple(r.instance.interfaces["eth"].state for r in routers[:2]) == roles, timeout=10)
    net.run_until(lambda: not routers[0].next_hops("192.168.3.0/24"), timeout=20)
    assert routers[0].next_hops("192.168.2.0/24") == {("10.0.0.2", "eth")}
    old = LsaKey(LsaType.NETWORK, IPv4Address("10.0.0.3"), IPv4Address("10.255.0.3"))
    # The dead DR's network-LSA stays until it ages out (nobody may flush another's LSA)...
    assert routers[0].instance.lsdb.get(old) is not None
    net.clock.advance(MAX_AGE + 5)
    # ...then MaxAge removes it everywhere, while the living routers' LSAs were refreshed meanwhile.
    assert routers[0].instance.lsdb.get(old) is None
    own = routers[0].instance.lsdb.get(
        LsaKey(LsaType.ROUTER, IPv4Address("10.255.0.1"), IPv4Address("10.255.0.1"))
    )
    assert own is not None and own.header.age < 1800
    assert routers[0].next_hops("192.168.2.0/24") == {("10.0.0.2", "eth")}
