"""Whole networks of twinrouters in Mininet: OSPF converges, hosts ping and traceroute across,
a cut cable is routed around, and nothing is left behind.

Each network runs on the HDL target (the gateware under Verilator; the first
run builds it, a few minutes, cached after) and on BMv2 when
``simple_switch_grpc`` is installed. Wall-clock bounds are generous: how fast
things are is measured by the demo and the benchmarks, not asserted here.
"""

from __future__ import annotations

import itertools
import os
import shutil

import pytest

from sim.networks import probes
from sim.networks.network import Dataplane, Network, NetworkOptions
from sim.networks.topology import Lan, Topology, line3, mixed, ring4
from tests.needs import needs_bmv2_json, needs_p4info

# The controllers push p4c's P4Info (committed under p4/build/ once built).
pytestmark = [pytest.mark.network, needs_p4info]

BMV2_MISSING = shutil.which("simple_switch_grpc") is None
DATAPLANES = [
    pytest.param(Dataplane.HDL, id="hdl"),
    pytest.param(
        Dataplane.BMV2,
        id="bmv2",
        marks=[
            pytest.mark.bmv2,
            pytest.mark.skipif(  # BMv2 (simple_switch_grpc) absent
                BMV2_MISSING, reason="simple_switch_grpc (BMv2) is not on PATH; see docs/p4.md"
            ),
            needs_bmv2_json,
        ],
    ),
]
CONVERGE_TIMEOUT = 90.0
#: the dead interval is 1 s; this leaves room for a loaded two-core machine
RESTORE_BOUND = 6.0


@pytest.fixture(autouse=True)
def _root() -> None:
    if os.geteuid() != 0:
        pytest.fail("network tests need root (network namespaces); run the tests as root")


def network_of(topology: Topology, dataplane: Dataplane) -> Network:
    """Started by ``with``; on a failure its logs are kept (the path is logged)."""
    return Network(topology, NetworkOptions(dataplane=dataplane))


def assert_torn_down(network: Network) -> None:
    assert network.nodes, "the network never announced its nodes"
    assert network.leftovers() == []


def assert_all_pairs_ping(network: Network) -> None:
    topology = network.topology
    pairs = list(itertools.permutations([h.name for h in topology.hosts], 2))
    # One ping per pair first: the routers resolve the hosts by ARP on the first packets
    # (held and re-injected by the controller). Under heavy load one such first packet
    # was seen lost once in a fresh-clone run (cause not yet found; noted in the closing
    # note); the check below is loss in steady state, after convergence and ARP.
    for source, destination in pairs:
        probes.ping(network, source, topology.host_port(destination).address.ip, count=1, interval=0.1)
    for source, destination in pairs:
        result = probes.ping(
            network, source, topology.host_port(destination).address.ip, count=5, interval=0.1
        )
        assert result.loss == 0, f"{source} -> {destination}: {result}"


def assert_traceroute(
    network: Network, source: str, destination: str, without: tuple[str, str] | None = None
) -> None:
    topology = network.topology
    hops = probes.traceroute(network, source, topology.host_port(destination).address.ip)
    assert hops == topology.hop_addresses(source, destination, without=without)


@pytest.mark.parametrize("dataplane", DATAPLANES)
def test_line_of_three_pings_all_pairs_and_traceroute_shows_each_ingress_address(
    dataplane: Dataplane,
) -> None:
    with network_of(line3(), dataplane) as network:
        probes.wait_converged(network, CONVERGE_TIMEOUT)
        assert_all_pairs_ping(network)
        assert_traceroute(network, "h1", "h2")
        assert_traceroute(network, "h2", "h1")
    assert_torn_down(network)


@pytest.mark.parametrize("dataplane", DATAPLANES)
def test_ring_of_four_routes_around_a_cut_cable(dataplane: Dataplane) -> None:
    topology = ring4()
    assert topology.cut is not None
    with network_of(topology, dataplane) as network:
        probes.wait_converged(network, CONVERGE_TIMEOUT)
        assert_all_pairs_ping(network)
        assert_traceroute(network, "h1", "h2")
        outage = probes.measure_cut(network, "h1", topology.host_port("h2").address.ip, topology.cut)
        assert outage.restored_after is not None, "no replies after the cut"
        assert outage.restored_after < RESTORE_BOUND
        assert_traceroute(network, "h1", "h2", without=topology.cut)
        assert_traceroute(network, "h2", "h1", without=topology.cut)
    assert_torn_down(network)


@pytest.mark.parametrize("dataplane", DATAPLANES)
def test_twinrouters_and_frr_route_for_each_other_on_point_to_point_links_and_a_lan(
    dataplane: Dataplane,
) -> None:
    """OSPF between twinrouters and FRR's ospfd: Full on the point-to-point link r2-r3 and on the
    LAN of all three (one DR, one BDR, one DROther, every router agreeing), routes learnt both
    ways and installed (the hosts behind each ping through both kinds of router), and a cut
    cable routed around across the LAN."""
    topology = mixed()
    assert topology.cut is not None and len(topology.lans) == 1
    with network_of(topology, dataplane) as network:
        probes.wait_converged(network, CONVERGE_TIMEOUT)
        assert_one_designated_router(network, topology.lans[0])
        assert_all_pairs_ping(network)
        assert_traceroute(network, "h1", "h3")  # r1 -> r2 (twinrouters) -> r3 (FRR)
        assert_traceroute(network, "h3", "h1")  # and back, FRR first
        outage = probes.measure_cut(network, "h1", topology.host_port("h2").address.ip, topology.cut)
        assert outage.restored_after is not None and outage.restored_after < RESTORE_BOUND
        probes.wait_converged(network, CONVERGE_TIMEOUT, without=topology.cut)
        assert_traceroute(network, "h1", "h2", without=topology.cut)  # r1 -> r2 across the LAN
        assert_traceroute(network, "h3", "h1", without=topology.cut)  # r3 (FRR) -> r1 across the LAN
    assert_torn_down(network)


def assert_one_designated_router(network: Network, lan: Lan) -> None:
    """Every router on ``lan`` names the same DR and BDR, two of them, and acts as such."""
    views = [probes.election(network, router, lan.name) for router in lan.routers]
    assert len({(view.dr, view.bdr) for view in views}) == 1, views
    addresses = {network.topology.port_towards(r, lan.name).address.ip: r for r in lan.routers}
    dr, bdr = views[0].dr, views[0].bdr
    assert dr != bdr and {dr, bdr} <= set(addresses), views
    roles = {router: "DROther" for router in lan.routers} | {addresses[dr]: "DR", addresses[bdr]: "Backup"}
    assert {view.router: view.state for view in views} == roles, views
