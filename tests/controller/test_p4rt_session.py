"""The P4Runtime session end to end: controller -> gRPC -> our P4Runtime server -> the reference model.

The server (sim/p4rt_server) with the model as its data plane is a real
P4Runtime target on 127.0.0.1, in the test's own process, so a test can
put frames into the switch and look at its tables directly: arbitration,
pipeline push, batched writes, reads, packet-in/out, counters, a full
table. Restarts of the switch and of the controller, on every data plane,
are in test_network.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from ipaddress import IPv4Address, IPv4Network

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from controller.config import parse_config
from controller.intent import entries_of
from controller.p4rt import PipelineFiles
from controller.rib import Route, Source
from sim.model import Forward, NextHop, PuntReason, ReferencePipeline
from sim.p4build import P4INFO_PATH
from sim.p4rt_server.model_dataplane import ModelDataPlane
from sim.p4rt_server.server import P4RuntimeServer
from sim.p4rt_server.surface import router_surface
from tests.needs import needs_p4info

from .conftest import GATEWAY, HOST_A, HOST_B, ROUTER_TOML
from .session import running_controller, settled, until

pytestmark = needs_p4info
CONFIG = parse_config(ROUTER_TOML, "r1.toml")
TIMEOUT = 20.0


@contextlib.asynccontextmanager
async def model_switch(capacities: dict[str, int] | None = None) -> AsyncIterator[tuple[ModelDataPlane, int]]:
    """Our P4Runtime server on 127.0.0.1 with the reference model as data plane, in this process."""
    dataplane = ModelDataPlane(num_ports=CONFIG.num_ports, surface=router_surface(capacities))
    server = P4RuntimeServer(dataplane)
    port = await server.start("127.0.0.1:0")
    try:
        yield dataplane, port
    finally:
        await server.stop()


def controller(port: int):
    return running_controller(CONFIG, f"127.0.0.1:{port}", PipelineFiles(P4INFO_PATH))


async def next_frame(dataplane: ModelDataPlane, port: int) -> bytes:
    return await asyncio.wait_for(dataplane.egress[port].get(), TIMEOUT)


def test_the_switch_ends_up_holding_exactly_the_intent_and_traffic_flows():
    async def scenario():
        async with model_switch() as (dataplane, port), controller(port) as (router, session):
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


def test_a_full_table_refuses_some_updates_which_are_reported_and_the_session_goes_on():
    async def scenario():
        ospf = [
            Route(IPv4Network(f"172.16.{i}.0/24"), Source.OSPF, NextHop(IPv4Address("10.0.2.254"), 2), 110)
            for i in range(4)
        ]
        # Connected, broadcast and static routes take 6 of the 8 slots.
        small = model_switch(capacities={"ingress.ipv4_lpm": 8})
        async with small as (dataplane, port), controller(port) as (router, session):
            await settled(session)
            router.update_routes(Source.OSPF, ospf)
            await until(lambda: len(session.rejected) == 2)
            assert all(why.startswith("RESOURCE_EXHAUSTED") for why in session.rejected.values())
            assert len(dataplane.table_state().routes) == 8
            # Withdrawing frees the slots; the session is still writing.
            router.update_routes(Source.OSPF, ospf[:2])
            await settled(session)
            assert session.rejected == {}
            assert entries_of(dataplane.table_state()) == router.intent()

    asyncio.run(scenario())


def test_written_is_set_exactly_when_the_switch_holds_every_change():
    async def scenario():
        async with model_switch() as (dataplane, port), controller(port) as (router, session):
            await asyncio.wait_for(session.written.wait(), TIMEOUT)
            assert entries_of(dataplane.table_state()) == router.intent()
            gateway = NextHop(IPv4Address(GATEWAY.ip), GATEWAY.port)
            prefixes = [IPv4Network((0xAC100000 + (i << 8), 24)) for i in range(3000)]  # in 172.16.0.0/12
            routes = [Route(prefix, Source.OSPF, gateway, 110) for prefix in prefixes]
            router.update_routes(Source.OSPF, routes)  # three WriteRequests
            assert not session.written.is_set()
            await asyncio.wait_for(session.written.wait(), TIMEOUT)
            assert entries_of(dataplane.table_state()) == router.intent()
            assert len(dataplane.table_state().routes) == 3000 + 6

    asyncio.run(scenario())
