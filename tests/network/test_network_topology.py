"""sim/networks: topologies resolve to consistent addresses and paths, generate configurations the
controller and FRR accept, and draw as well-formed pictures. No network is started here."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ElementTree
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from controller.config import load_config
from controller.ospf.config import NetworkType
from controller.ospf.speaker import check_ospf_config
from sim.networks.configs import DEFAULT_TIMING, OspfTiming, frr_ospfd_conf, router_toml
from sim.networks.picture import svg, text
from sim.networks.probes import Outage, parse_ping, parse_traceroute
from sim.networks.topology import (
    TOPOLOGIES,
    Host,
    Lan,
    Link,
    LinkType,
    Router,
    RouterKind,
    Topology,
    TopologyError,
    line3,
    mixed,
    ring4,
)

A = IPv4Address

ALL = sorted(TOPOLOGIES)


@pytest.mark.parametrize("name", ALL)
def test_every_address_is_unique_and_each_link_is_one_subnet(name: str) -> None:
    topology = TOPOLOGIES[name]()
    ports = [p for r in topology.routers for p in topology.ports(r.name)]
    hosts = [topology.host_port(h.name) for h in topology.hosts]
    addresses = [p.address.ip for p in ports] + [h.address.ip for h in hosts]
    assert len(addresses) == len(set(addresses))
    assert len({p.mac for p in ports} | {h.mac for h in hosts}) == len(addresses)
    for link in topology.links:
        a, b = topology.port_towards(link.a, link.b), topology.port_towards(link.b, link.a)
        assert a.address.network == b.address.network and a.cost == b.cost == link.cost
    for host in topology.hosts:
        lan, port = topology.port_towards(host.router, host.name), topology.host_port(host.name)
        assert port.address.network == lan.address.network and port.gateway == lan.address.ip
        assert lan.host_lan
    for lan in topology.lans:
        ports = [topology.port_towards(router, lan.name) for router in lan.routers]
        assert len({p.address.network for p in ports}) == 1 and {p.cost for p in ports} == {lan.cost}
    assert len(topology.subnets()) == len(topology.links) + len(topology.lans) + len(topology.hosts)


@pytest.mark.parametrize("name", ALL)
def test_generated_router_configs_pass_the_controllers_own_validation(name: str, tmp_path: Path) -> None:
    topology = TOPOLOGIES[name]()
    for router in topology.twinrouters():
        path = tmp_path / f"{router.name}.toml"
        path.write_text(router_toml(topology, router.name, num_ports=4))
        config = load_config(path)
        ospf = check_ospf_config(config)
        assert str(config.router_id) == str(topology.router_id(router.name))
        for port in topology.ports(router.name):
            interface = config.interface_by_name(port.name)
            assert interface is not None
            assert (interface.port, str(interface.mac), interface.address) == (
                port.port,
                port.mac,
                port.address,
            )
            settings = ospf.interfaces[port.name]
            if port.host_lan:
                assert settings.passive and settings.cost == port.cost
            else:
                assert settings.network is NetworkType(port.network) and settings.cost == port.cost
                assert settings.dead_interval == 1 and settings.hello_multiplier == 4
                assert settings.retransmit_interval == OspfTiming().retransmit_interval
        assert (ospf.spf_delay, ospf.min_ls_interval, ospf.min_ls_arrival) == (0.05, 0.2, 0.1)


def test_a_router_with_more_links_than_ports_is_refused() -> None:
    with pytest.raises(ValueError, match="needs 3 ports"):
        router_toml(ring4(), "r1", num_ports=2)


def test_frr_config_matches_the_twinrouters_ospf_settings(tmp_path: Path) -> None:
    topology = TOPOLOGIES["mixed"]()
    frr = next(r.name for r in topology.routers if r.kind is RouterKind.FRR)
    conf = frr_ospfd_conf(topology, frr, str(tmp_path / "ospfd.log"))
    for port in topology.ports(frr):
        assert f"interface {port.ifname}" in conf
        assert f" network {port.address.network} area 0" in conf
        assert f" ip ospf cost {port.cost}" in conf
        if port.host_lan:
            assert f" passive-interface {port.ifname}" in conf
        else:
            assert (
                f"interface {port.ifname}\n ip ospf cost {port.cost}\n ip ospf network {port.network}\n"
                in conf
            )
    assert {p.network for p in topology.ports(frr) if not p.host_lan} == set(LinkType)
    assert conf.count("dead-interval minimal hello-multiplier 4") == 2
    assert conf.count(" ip ospf retransmit-interval 2") == 2
    assert " timers throttle lsa all 200\n timers lsa min-arrival 100\n" in conf
    assert f" ospf router-id {topology.router_id(frr)}" in conf
    # FRR itself must accept it: vtysh's dry run parses the file without starting anything.
    path = tmp_path / "ospfd.conf"
    path.write_text(conf)
    result = subprocess.run(
        ["vtysh", "--dryrun", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rfc_default_timers_generate_configs_both_routers_accept(tmp_path: Path) -> None:
    topology = TOPOLOGIES["mixed"]()
    path = tmp_path / "r1.toml"
    path.write_text(router_toml(topology, "r1", num_ports=4, timing=DEFAULT_TIMING))
    ospf = check_ospf_config(load_config(path))
    assert (ospf.min_ls_interval, ospf.min_ls_arrival) == (5.0, 1.0)
    link = ospf.interfaces["eth1"]
    assert (link.hello_interval, link.dead_interval, link.hello_multiplier, link.retransmit_interval) == (
        10,
        40,
        None,
        5,
    )
    conf = frr_ospfd_conf(topology, "r3", str(tmp_path / "ospfd.log"), DEFAULT_TIMING)
    assert " ip ospf hello-interval 10\n ip ospf dead-interval 40\n" in conf
    (tmp_path / "ospfd.conf").write_text(conf)
    result = subprocess.run(
        ["vtysh", "--dryrun", "-f", str(tmp_path / "ospfd.conf")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_traceroute_hops_are_each_routers_ingress_address() -> None:
    topology = ring4()
    assert topology.router_path("h1", "h2") == ["r1", "r2", "r3"]
    assert topology.hop_addresses("h1", "h2") == [
        IPv4Address("172.16.1.1"),  # r1, from h1's LAN
        IPv4Address("10.0.1.2"),  # r2 on the r1-r2 link
        IPv4Address("10.0.2.2"),  # r3 on the r2-r3 link
        IPv4Address("172.16.2.10"),  # h2
    ]
    assert topology.hop_addresses("h1", "h2", without=("r1", "r2")) == [
        IPv4Address("172.16.1.1"),
        IPv4Address("10.0.4.1"),  # r4, from r1
        IPv4Address("10.0.3.1"),  # r3, from r4
        IPv4Address("172.16.2.10"),
    ]
    assert topology.hop_addresses("h2", "h1") == [
        IPv4Address("172.16.2.1"),
        IPv4Address("10.0.2.1"),
        IPv4Address("10.0.1.1"),
        IPv4Address("172.16.1.10"),
    ]


def test_next_hops_follow_the_least_cost_and_change_when_a_link_is_cut() -> None:
    topology = ring4()
    via_r2, via_r4 = IPv4Address("10.0.1.2"), IPv4Address("10.0.4.1")
    assert topology.next_hops("r1") == {
        IPv4Network("10.0.2.0/24"): via_r2,  # r2-r3: 10 + 10
        IPv4Network("10.0.3.0/24"): via_r4,  # r3-r4: r4 at 15, its end 15; through r2 it is 10 + 10 + 15
        IPv4Network("172.16.2.0/24"): via_r2,  # h2's LAN behind r3: 10 + 10 + 10 against 15 + 15 + 10
    }
    assert topology.next_hops("r1", without=("r1", "r2")) == {
        IPv4Network("10.0.2.0/24"): via_r4,
        IPv4Network("10.0.3.0/24"): via_r4,
        IPv4Network("172.16.2.0/24"): via_r4,
    }  # the cut link's own subnet is left out


def test_a_lan_is_a_vertex_reached_at_each_routers_cost_and_left_at_no_cost() -> None:
    topology = mixed()
    assert [p.address for p in topology.segments()[-1].ports] == [
        IPv4Interface(f"10.1.1.{i}/24") for i in (1, 2, 3)
    ]
    # While the links stand, r1 reaches r3's host through r2 (10 + 10 + 10) rather than the LAN (25 + 10).
    assert topology.hop_addresses("h1", "h3") == [
        A("172.16.1.1"),
        A("10.0.1.2"),
        A("10.0.2.2"),
        A("172.16.3.10"),
    ]
    cut = ("r1", "r2")
    assert topology.next_hops("r1", without=cut) == {
        IPv4Network("10.0.2.0/24"): A("10.1.1.2"),  # r2 and r3 on the LAN at 25 + 10: the lower address
        IPv4Network("172.16.2.0/24"): A("10.1.1.2"),  # r2's LAN address
        IPv4Network("172.16.3.0/24"): A("10.1.1.3"),  # r3's
    }
    assert topology.hop_addresses("h3", "h1", without=cut) == [
        A("172.16.3.1"),
        A("10.1.1.1"),
        A("172.16.1.10"),
    ]
    assert topology.router_path("h1", "h2") == ["r1", "r2"]
    # Full with the DR and the BDR at least: everyone on a LAN of three.
    assert [topology.expected_full_neighbours(r.name) for r in topology.routers] == [3, 4, 3]
    assert topology.expected_full_neighbours("r1", without=cut) == 2


def test_equal_cost_paths_take_the_lowest_next_hop_address() -> None:
    square = Topology(
        name="square",
        routers=tuple(Router(f"r{i}") for i in range(1, 5)),
        hosts=(Host("h1", "r1"), Host("h2", "r3")),
        links=(Link("r1", "r2"), Link("r2", "r3"), Link("r3", "r4"), Link("r4", "r1")),
    )
    # r1 reaches h2's LAN through r2 (10.0.1.2) and r4 (10.0.4.1) at the same cost.
    assert square.next_hops("r1")[IPv4Network("172.16.2.0/24")] == IPv4Address("10.0.1.2")


def test_an_ambiguous_least_cost_path_is_an_error_not_a_guess() -> None:
    square = Topology(
        name="square",
        routers=tuple(Router(f"r{i}") for i in range(1, 5)),
        hosts=(Host("h1", "r1"), Host("h2", "r3")),
        links=(Link("r1", "r2"), Link("r2", "r3"), Link("r3", "r4"), Link("r4", "r1")),
    )
    with pytest.raises(TopologyError, match="2 least-cost paths"):
        square.hop_addresses("h1", "h2")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hosts": (Host("h1", "r9"),)}, "unknown router"),
        ({"links": (Link("r1", "r1"),)}, "two different routers"),
        ({"links": (Link("r1", "r2"), Link("r2", "r1"))}, "more than one link"),
        ({"links": (Link("r1", "r2", cost=0),)}, "cost must be"),
        ({"routers": (Router("r1"), Router("r1"))}, "unique"),
        ({"routers": (Router("router-one"),)}, "letters and digits"),
        ({"routers": (Router("w1"), Router("r2"))}, "cables"),
        ({"cut": ("r1", "r3")}, "not a link"),
        ({"lans": (Lan("s1", ("r1",)),)}, "two or more different routers"),
        ({"lans": (Lan("s1", ("r1", "r1")),)}, "two or more different routers"),
        ({"lans": (Lan("s1", ("r1", "r9")),)}, "unknown router"),
        ({"lans": (Lan("s1", ("r1", "r2"), cost=0),)}, "cost must be"),
        ({"lans": (Lan("r1", ("r1", "r2")),)}, "unique"),
    ],
)
def test_bad_topologies_are_refused_with_the_reason(change: dict, message: str) -> None:
    fields = {
        "name": "bad",
        "routers": (Router("r1"), Router("r2")),
        "hosts": (),
        "links": (Link("r1", "r2"),),
    }
    with pytest.raises(TopologyError, match=message):
        Topology(**(fields | change))


@pytest.mark.parametrize("name", ALL)
def test_the_picture_is_well_formed_svg_naming_every_node_and_subnet(name: str) -> None:
    topology = TOPOLOGIES[name]()
    document = svg(topology)
    root = ElementTree.fromstring(document)
    texts = {element.text for element in root.iter("{http://www.w3.org/2000/svg}text")}
    for node in [*topology.routers, *topology.hosts]:
        assert node.name in texts
    for subnet in topology.subnets():
        assert str(subnet) in texts
    assert len(text(topology)) >= len(topology.links) + len(topology.hosts)


def test_the_readme_picture_is_the_generated_one() -> None:
    from sim.networks.topology import DEFAULT_TOPOLOGY

    committed = Path(__file__).resolve().parents[2] / "docs" / "demo-network.svg"
    assert committed.read_text() == svg(TOPOLOGIES[DEFAULT_TOPOLOGY]()), (
        "regenerate it: .venv/bin/python -m sim.networks.picture ring docs/demo-network.svg"
    )


def test_line_is_a_path_of_three() -> None:
    topology = line3()
    assert topology.router_path("h1", "h2") == ["r1", "r2", "r3"]
    assert [IPv4Network(s) for s in ("10.0.1.0/24", "10.0.2.0/24")] == topology.subnets()[:2]


# --- parsing what the tools print --------------------------------------------------------


def test_ping_and_traceroute_output_is_parsed() -> None:
    output = (
        "PING 172.16.2.10 (172.16.2.10) 56(84) bytes of data.\n"
        "64 bytes from 172.16.2.10: icmp_seq=1 ttl=61 time=5.44 ms\n\n"
        "--- 172.16.2.10 ping statistics ---\n"
        "3 packets transmitted, 2 received, 33.3333% packet loss, time 404ms\n"
        "rtt min/avg/max/mdev = 1.168/2.608/5.444/2.004 ms\n"
    )
    result = parse_ping("h1", IPv4Address("172.16.2.10"), output)
    assert (result.sent, result.received, result.rtt_min, result.rtt_avg, result.rtt_max) == (
        3,
        2,
        1.168,
        2.608,
        5.444,
    )
    assert result.loss == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="no ping summary"):
        parse_ping("h1", IPv4Address("172.16.2.10"), "connect: Network is unreachable\n")
    trace = (
        "traceroute to 172.16.2.10 (172.16.2.10), 10 hops max, 60 byte packets\n"
        " 1  172.16.1.1  1.196 ms\n 2  *\n 3  10.0.2.2  5.233 ms\n 4  172.16.2.10  4.754 ms\n"
    )
    assert parse_traceroute(trace) == [
        IPv4Address("172.16.1.1"),
        None,
        IPv4Address("10.0.2.2"),
        IPv4Address("172.16.2.10"),
    ]


def test_an_outage_is_measured_from_the_cut_to_the_first_reply_after_the_gap() -> None:
    outage = Outage(interval=0.05, cut_at=100.0)
    outage.replies = [(99.9, 1), (99.95, 2), (100.01, 3), (101.3, 30), (101.35, 31)]
    assert outage.restored_after == pytest.approx(1.3)
    assert outage.lost == 26
    steady = Outage(interval=0.05, cut_at=100.0, replies=[(99.95, 1), (100.0, 2), (100.05, 3)])
    assert steady.restored_after == 0.0 and steady.lost == 0
    silent = Outage(interval=0.05, cut_at=100.0, replies=[(99.95, 1)])
    assert silent.restored_after is None
    # Replies in flight at the cut, then none: not "never stopped".
    stopped = Outage(interval=0.05, cut_at=100.0, replies=[(99.95, 1), (100.01, 2), (100.02, 3)], until=104.0)
    assert stopped.restored_after is None
    stopped.until = 100.3  # looked at too soon to tell
    assert stopped.restored_after == 0.0
