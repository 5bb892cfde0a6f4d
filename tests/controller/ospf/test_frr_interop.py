"""Interoperability with FRR's ospfd: adjacency, DR election both ways, routes both ways, LSDB agreement.

Our instance runs on a veth in one namespace through raw IP sockets
(controller/ospf/linux.py), FRR (zebra + ospfd) in another; routes FRR
learns land in its kernel table, so "FRR learnt our LAN" is read there.
The data-plane path (packet-in/out through BMv2 or the HDL target) is the
same engine behind a different PacketSender; see test_speaker.py for that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from controller.clock import AsyncioClock
from controller.ospf import OspfConfig, OspfInstance, OspfInterfaceAddress, OspfInterfaceConfig
from controller.ospf.config import NetworkType
from controller.ospf.linux import LinuxOspfIo, open_ospf_socket
from controller.ospf.neighbor import NeighborState
from sim.netns import Namespace, NetnsLab

from .frr import FrrInterface, FrrOspf

pytestmark = pytest.mark.network

FRR_ID = "10.255.0.9"
HELLO, DEAD = 1, 3
OUR_LAN = IPv4Network("192.168.77.0/24")
FRR_LAN = IPv4Network("10.88.0.0/24")


async def until(
    condition: Callable[[], bool], timeout: float, what: str, explain: Callable[[], str]
) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout} s\n{explain()}")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


def frr_route_to(namespace: Namespace, prefix: IPv4Network) -> str:
    return namespace.ip("route", "show", str(prefix))


Check = Callable[[OspfInstance, FrrOspf, Namespace], Awaitable[None]]


async def exercise(
    frr: FrrOspf,
    frr_ns: Namespace,
    ours_ns: Namespace,
    settings: OspfInterfaceConfig,
    our_id: str,
    check: Check,
) -> None:
    with ours_ns.entered():
        sock = open_ospf_socket("our0", IPv4Address("10.77.0.1"))
    io = LinuxOspfIo({"our0": sock})
    config = OspfConfig(None, 0.05, {"our0": settings, "lan": OspfInterfaceConfig(passive=True)})
    addresses = [
        OspfInterfaceAddress("our0", IPv4Interface("10.77.0.1/24")),
        OspfInterfaceAddress("lan", IPv4Interface("192.168.77.1/24")),
    ]
    ours = OspfInstance(IPv4Address(our_id), config, addresses, AsyncioClock(), io)
    io.start(ours)
    ours.start()

    def explain() -> str:
        return f"ours: {ours.status()}\nFRR neighbours: {frr.neighbors()}\nFRR log:\n{frr.log()[-3000:]}"

    def adjacent() -> bool:
        mine = [n.state for n in ours.interfaces["our0"].neighbors.values()]
        theirs = frr.neighbors().get(our_id, {}).get("nbrState", "")
        return mine == [NeighborState.FULL] and theirs.startswith("Full")

    try:
        await until(adjacent, 30, "Full adjacency both ways", explain)
        await until(
            lambda: "proto ospf" in frr_route_to(frr_ns, OUR_LAN), 15, "FRR's route to our LAN", explain
        )
        assert "via 10.77.0.1 dev frr0" in frr_route_to(frr_ns, OUR_LAN)
        await until(lambda: FRR_LAN in ours.routes, 15, "our route to FRR's LAN", explain)
        (hop,) = ours.routes[FRR_LAN].next_hops
        assert (hop.address, hop.interface) == (IPv4Address("10.77.0.2"), "our0")
        # FRR accepted our acknowledgments (nothing left to retransmit to us) and the databases agree.
        await until(lambda: frr.neighbors()[our_id]["retransmitCounter"] == 0, 10, "FRR's rxmt list", explain)

        def same_database() -> bool:
            # Same instances, and the same Fletcher checksums: FRR's for its LSAs (we verified them
            # on receipt) and ours for ours (FRR verified them).
            headers = ours.lsdb.headers()
            ours_lsas = {str(h.ls_id): (h.seq & 0xFFFFFFFF, h.checksum) for h in headers if h.type == 1}
            return ours_lsas == frr.router_lsas()

        await until(same_database, 10, "identical router-LSAs", explain)
        # DROthers hear AllDRouters; a neighbour still at 2-Way hears the DR's DDs and floods.
        benign = {"dd-ignored", "wrong-destination", "lsa-min-ls-arrival", "neighbor-state"}
        assert set(ours.drops) <= benign, ours.drops
        await check(ours, frr, frr_ns)
    finally:
        ours.stop()
        io.close()


def run_against_frr(network: str, our_id: str, check: Check, hello_multiplier: int | None = None) -> None:
    with NetnsLab("ospf-frr") as lab:
        frr_ns, ours_ns = lab.namespace("frr"), lab.namespace("ours")
        lab.veth(frr_ns, "frr0", ours_ns, "our0")
        lab.veth(frr_ns, "lan0", frr_ns, "lan0p")  # FRR's LAN: a connected subnet it advertises
        frr_ns.ip("addr", "add", "10.77.0.2/24", "dev", "frr0")
        frr_ns.ip("addr", "add", "10.88.0.1/24", "dev", "lan0")
        ours_ns.ip("addr", "add", "10.77.0.1/24", "dev", "our0")
        if hello_multiplier:
            ours = OspfInterfaceConfig(
                NetworkType(network), dead_interval=1, hello_multiplier=hello_multiplier
            )
            theirs = FrrInterface("frr0", network, hello_multiplier=hello_multiplier)
        else:
            ours = OspfInterfaceConfig(NetworkType(network), hello_interval=HELLO, dead_interval=DEAD)
            theirs = FrrInterface("frr0", network, HELLO, DEAD)
        interfaces = [theirs, FrrInterface("lan0", passive=True)]
        with FrrOspf(frr_ns, FRR_ID, interfaces, ["10.77.0.0/24", "10.88.0.0/24"]).start() as frr:
            asyncio.run(exercise(frr, frr_ns, ours_ns, ours, our_id, check))


def test_point_to_point_with_frr_and_frr_notices_when_we_go():
    async def gone(ours: OspfInstance, frr: FrrOspf, frr_ns: Namespace) -> None:
        # We stop without a goodbye: FRR's dead interval ends the adjacency and the route.
        ours.stop()
        took = await until(
            lambda: "proto ospf" not in frr_route_to(frr_ns, OUR_LAN), DEAD + 10, "FRR", frr.log
        )
        assert took > DEAD - 1.5  # it was the dead interval (how fast is for benchmarks, not tests)

    run_against_frr("point-to-point", "10.255.0.1", gone)


def test_broadcast_with_frr_as_dr():
    async def roles(ours: OspfInstance, frr: FrrOspf, frr_ns: Namespace) -> None:
        interface = ours.interfaces["our0"]
        assert (interface.dr, interface.bdr) == (IPv4Address("10.77.0.2"), IPv4Address("10.77.0.1"))

    run_against_frr("broadcast", "10.255.0.1", roles)


def test_broadcast_with_us_as_dr_frr_uses_our_network_lsa():
    async def roles(ours: OspfInstance, frr: FrrOspf, frr_ns: Namespace) -> None:
        network = frr.vtysh_json("show ip ospf database network")
        ids = [
            (lsa["linkStateId"], lsa["advertisingRouter"])
            for area in network.get("networkLinkStates", network.get("routerLinkStates", {}))
            .get("areas", {})
            .values()
            for lsa in area
        ]
        assert ("10.77.0.1", "10.255.0.99") in ids, network

    run_against_frr("broadcast", "10.255.0.99", roles)


def test_one_second_dead_interval_with_frr():
    async def steady_then_gone(ours: OspfInstance, frr: FrrOspf, frr_ns: Namespace) -> None:
        (neighbor,) = ours.interfaces["our0"].neighbors.values()
        events = list(neighbor.events)
        await asyncio.sleep(3)  # 250 ms hellos both ways, 1 s dead intervals: no flap
        assert neighbor.events == events and neighbor.state == NeighborState.FULL
        assert frr.neighbors()["10.255.0.1"]["upTimeInMsec"] > 3000
        ours.stop()
        took = await until(lambda: "proto ospf" not in frr_route_to(frr_ns, OUR_LAN), 10, "FRR", frr.log)
        assert took > 0.5  # FRR's 1-second dead interval, less at most one 250 ms hello period

    run_against_frr("point-to-point", "10.255.0.1", steady_then_gone, hello_multiplier=4)
