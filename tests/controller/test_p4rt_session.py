"""The P4Runtime session end to end: controller -> gRPC -> our P4Runtime server -> the reference model.

The server (sim/p4rt_server) with the model as its data plane is a real
P4Runtime target on 127.0.0.1, so these tests cover the whole path the HDL
target and BMv2 take: arbitration, pipeline push, batched writes, reads,
packet-in/out, reconnect and reconcile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from ipaddress import IPv4Address, IPv4Network

import finsy.switch
import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from controller.clock import AsyncioClock
from controller.config import parse_config
from controller.intent import Op, Table, Update, entries_of
from controller.p4rt import P4RuntimeDataplane, PipelineFiles
from controller.rib import Route, Source
from controller.router import Router
from controller.service import adopt
from sim.model import Forward, MacAddress, NextHop, NullRoute, PuntReason, ReferencePipeline
from sim.p4build import P4INFO_PATH
from sim.p4rt_server.model_dataplane import ModelDataPlane
from sim.p4rt_server.server import P4RuntimeServer
from sim.p4rt_server.surface import router_surface
from tests.needs import needs_p4info

from .conftest import HOST_A, HOST_B, ROUTER_TOML

pytestmark = needs_p4info
CONFIG = parse_config(ROUTER_TOML, "r1.toml")
HOST_A_IP = IPv4Address(HOST_A.ip)
TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def quick_retry(monkeypatch):
    # finsy waits 10 s before reconnecting after a session shorter than 2 s; tests restart sooner.
    monkeypatch.setattr(finsy.switch, "_FAIL_THROTTLE_SECS", 0.2)


@contextlib.asynccontextmanager
async def model_switch(
    port: int = 0, capacities: dict[str, int] | None = None
) -> AsyncIterator[tuple[ModelDataPlane, P4RuntimeServer, int]]:
    dataplane = ModelDataPlane(num_ports=CONFIG.num_ports, surface=router_surface(capacities))
    server = P4RuntimeServer(dataplane)
    bound = await server.start(f"127.0.0.1:{port}")
    try:
        yield dataplane, server, bound
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def controller(port: int, election_id: int = 10) -> AsyncIterator[tuple[Router, P4RuntimeDataplane]]:
    session = P4RuntimeDataplane(f"127.0.0.1:{port}", PipelineFiles(P4INFO_PATH), election_id=election_id)
    router = Router(CONFIG, AsyncioClock(), session)
    router.start()
    task = asyncio.create_task(
        session.run(router.handle_packet_in, lambda found: adopt(router, found), router.connected)
    )
    try:
        await asyncio.wait_for(session.synced.wait(), TIMEOUT)
        yield router, session
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settled(session: P4RuntimeDataplane) -> None:
    """Wait until every change set has been written."""
    for _ in range(int(TIMEOUT / 0.01)):
        if session.synced.is_set() and not session._dirty and session.installed == session.desired:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the session never caught up with the intent")


async def next_frame(dataplane: ModelDataPlane, port: int) -> bytes:
    return await asyncio.wait_for(dataplane.egress[port].get(), TIMEOUT)


def test_the_switch_ends_up_holding_exactly_the_intent_and_traffic_flows():
    async def scenario():
        async with model_switch() as (dataplane, _, port), controller(port) as (router, session):
            await settled(session)
            assert entries_of(dataplane.table_state()) == router.intent()
            writes_after_start = session.counters["writes"]

            # Once in sync, the router announces itself on each interface.
            announcement = Ether(await next_frame(dataplane, 1))
            assert announcement[ARP].psrc == announcement[ARP].pdst == "10.0.1.1"
            assert router.counters["arp_gratuitous_sent"] == 2

            # A asks for its gateway: answered through packet-in -> controller -> packet-out.
            dataplane.receive(1, HOST_A.arp_request("10.0.1.1"))
            reply = Ether(await next_frame(dataplane, 1))
            assert (reply[ARP].psrc, reply[ARP].pdst, reply.dst) == ("10.0.1.1", HOST_A.ip, HOST_A.mac)

            # A pings B: ARP miss, resolution on port 2, the held packet re-injected.
            ping = HOST_A.ip_to(HOST_B.ip, ttl=5)
            dataplane.receive(1, ping)
            request = Ether(await next_frame(dataplane, 2))
            while request[ARP].pdst != HOST_B.ip:
                request = Ether(await next_frame(dataplane, 2))
            dataplane.receive(2, HOST_B.arp_reply(HOST_B.router_mac, HOST_B.router_ip))
            forwarded = await next_frame(dataplane, 2)
            await settled(session)
            expected = ReferencePipeline(dataplane.table_state()).decide(ping, 1)
            assert isinstance(expected, Forward) and forwarded == expected.frame

            # The next packet goes through the data plane alone: no punt.
            punts_before = session.counters["packet_in"]
            dataplane.receive(1, ping)
            assert await next_frame(dataplane, 2) == expected.frame
            assert session.counters["packet_in"] == punts_before

            # Ping the router itself.
            dataplane.receive(1, HOST_A.ip_to("10.0.2.1"))
            echo = Ether(await next_frame(dataplane, 1))
            assert (echo[IP].src, echo[ICMP].type) == ("10.0.2.1", 0)

            # Each learned neighbour was one write (its own change set), and none was refused.
            assert session.counters["writes"] == writes_after_start + 2
            assert entries_of(dataplane.table_state()) == router.intent()
            assert session.rejected == {} and session.counters["updates_rejected"] == 0

            # Counters read back over P4Runtime are the model's.
            counters = await session.read_counters()
            model = dataplane.counters
            assert counters["ingress.rx_port"][1] == (model.rx_port[1].packets, model.rx_port[1].bytes)
            assert counters["ingress.punts"][int(PuntReason.ARP_MISS)][0] == 1

    asyncio.run(scenario())


def test_a_restarted_switch_gets_the_pipeline_and_every_entry_back():
    async def scenario():
        async with model_switch() as (first, server, port), controller(port) as (router, session):
            first.receive(1, HOST_A.arp_request("10.0.1.1"))
            await asyncio.sleep(0.1)
            await settled(session)
            before = router.intent()
            assert (Table.ARP, HOST_A_IP) in before
            written_before = session.counters["reconcile_updates"]
            await server.stop()
            async with model_switch(port) as (second, _, _):
                await asyncio.wait_for(_until(lambda: session.counters["reconciles"] == 2), TIMEOUT)
                await settled(session)
                assert entries_of(second.table_state()) == before
                # All of it, once: the new switch started empty.
                assert session.counters["reconcile_updates"] - written_before == len(before)

    asyncio.run(scenario())


def test_a_restarted_controller_finds_the_switch_right_and_writes_nothing():
    async def scenario():
        async with model_switch() as (dataplane, _, port):
            async with controller(port) as (router, session):
                dataplane.receive(1, HOST_A.arp_request("10.0.1.1"))
                await asyncio.sleep(0.1)
                await settled(session)
                kept = entries_of(dataplane.table_state())
            async with controller(port, election_id=11) as (router, session):
                await settled(session)
                assert session.counters["reconcile_updates"] == 0
                assert session.counters["writes"] == 0
                assert entries_of(dataplane.table_state()) == kept == router.intent()
                assert router.counters["arp_entries_adopted"] == 1

    asyncio.run(scenario())


def test_stale_and_wrong_entries_on_the_switch_are_removed_and_fixed():
    async def scenario():
        async with model_switch() as (dataplane, _, port):
            async with controller(port) as (router, session):
                await settled(session)
                # Behind the controller's back: a stale route, and a wrong MAC on port 1.
                stale = Update(Op.INSERT, Table.IPV4_LPM, IPv4Network("10.77.0.0/16"), NullRoute())
                wrong = Update(Op.MODIFY, Table.PORT_MAC, 1, MacAddress(0x02_00_00_00_99_99))
                await session.switch.write([session.codec.update(stale), session.codec.update(wrong)])
            async with controller(port, election_id=11) as (router, session):
                await settled(session)
                assert session.counters["reconcile_updates"] == 2
                assert entries_of(dataplane.table_state()) == router.intent()

    asyncio.run(scenario())


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.02)


def test_a_full_table_refuses_some_updates_which_are_reported_and_the_session_goes_on():
    async def scenario():
        ospf = [
            Route(IPv4Network(f"172.16.{i}.0/24"), Source.OSPF, NextHop(IPv4Address("10.0.2.254"), 2), 110)
            for i in range(4)
        ]
        # Connected, broadcast and static routes take 6 of the 8 slots.
        small = model_switch(capacities={"ingress.ipv4_lpm": 8})
        async with small as (dataplane, _, port), controller(port) as (router, session):
            await settled(session)
            router.update_routes(Source.OSPF, ospf)
            await asyncio.wait_for(_until(lambda: len(session.rejected) == 2), TIMEOUT)
            assert all(why.startswith("RESOURCE_EXHAUSTED") for why in session.rejected.values())
            assert len(dataplane.table_state().routes) == 8
            # Withdrawing frees the slots; the session is still writing.
            router.update_routes(Source.OSPF, ospf[:2])
            await settled(session)
            assert session.rejected == {}
            assert entries_of(dataplane.table_state()) == router.intent()

    asyncio.run(scenario())
