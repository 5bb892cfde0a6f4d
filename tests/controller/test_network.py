"""Real hosts, real ping and traceroute, through the controller.

Two hosts on two subnets, each in its own network namespace, cabled by
veth pairs to a third namespace where the switch's ports are: our
P4Runtime server with the reference model as data plane, bound to those
interfaces. The controller programs it over P4Runtime on 127.0.0.1. The
hosts are plain Linux: they ARP for their gateway, ping, and run traceroute.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

import pytest

from controller.clock import AsyncioClock
from controller.config import parse_config
from controller.p4rt import P4RuntimeDataplane, PipelineFiles
from controller.router import Router
from sim.hdl_target.links import RawSocketLink
from sim.netns import Namespace, NetnsLab, run
from sim.p4build import P4INFO_PATH
from sim.p4rt_server.model_dataplane import ModelDataPlane
from sim.p4rt_server.server import P4RuntimeServer
from tests.needs import needs_p4info

from .conftest import HOST_A, HOST_B, ROUTER_TOML

pytestmark = [
    needs_p4info,
    pytest.mark.network,  # needs root: sim.netns refuses, failing the test, without it
]
CONFIG = parse_config(ROUTER_TOML, "r1.toml")
OFFLOADS = ("rx", "tx", "sg", "tso", "gso", "gro")
TIMEOUT = 30.0


def _host(lab: NetnsLab, switch: Namespace, port: int, host) -> Namespace:
    ns = lab.namespace(host.name.lower())
    lab.veth(switch, f"p{port}", ns, "eth0", a_mac=None, b_mac=host.mac)
    ns.sysctl({"net.ipv6.conf.all.disable_ipv6": 1})
    ns.ip("addr", "add", f"{host.ip}/24", "dev", "eth0")
    ns.ip("route", "add", "default", "via", host.router_ip)
    for where, device in ((ns, "eth0"), (switch, f"p{port}")):
        offloads = [arg for offload in OFFLOADS for arg in (offload, "off")]
        run(["ip", "netns", "exec", where.name, "ethtool", "-K", device, *offloads])
    return ns


async def _in(ns: Namespace, *command: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "ip",
        "netns",
        "exec",
        ns.name,
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
    return process.returncode, out.decode()


async def _pump_in(link: RawSocketLink, dataplane: ModelDataPlane, port: int) -> None:
    while True:
        dataplane.receive(port, await link.recv())


async def _pump_out(link: RawSocketLink, dataplane: ModelDataPlane, port: int) -> None:
    while True:
        await link.send(await dataplane.egress[port].get())


def test_hosts_ping_each_other_and_the_router_and_traceroute_sees_each_hop():
    with NetnsLab("twr-ctl") as lab:
        switch = lab.namespace("sw")
        switch.sysctl({"net.ipv6.conf.all.disable_ipv6": 1})
        host_a = _host(lab, switch, 1, HOST_A)
        host_b = _host(lab, switch, 2, HOST_B)

        async def scenario():
            dataplane = ModelDataPlane(num_ports=4)
            server = P4RuntimeServer(dataplane)
            port = await server.start("127.0.0.1:0")
            with switch.entered():
                links = {1: RawSocketLink("p1"), 2: RawSocketLink("p2")}
            session = P4RuntimeDataplane(f"127.0.0.1:{port}", PipelineFiles(P4INFO_PATH))
            router = Router(CONFIG, AsyncioClock(), session)
            router.start()
            tasks = [asyncio.create_task(session.run(router.handle_packet_in, on_synced=router.connected))]
            for number, link in links.items():
                tasks.append(asyncio.create_task(_pump_in(link, dataplane, number)))
                tasks.append(asyncio.create_task(_pump_out(link, dataplane, number)))
            try:
                await asyncio.wait_for(session.synced.wait(), TIMEOUT)

                code, out = await _in(host_a, "ping", "-c", "3", "-i", "0.2", "-W", "2", HOST_B.ip)
                assert code == 0, out
                assert "3 received" in out

                code, out = await _in(host_b, "ping", "-c", "1", "-W", "2", HOST_A.ip)
                assert code == 0, out  # and back: both neighbours are in the switch now

                code, out = await _in(host_a, "ping", "-c", "1", "-W", "2", "10.0.2.1")
                assert code == 0, out  # the router's far address

                code, out = await _in(host_a, "traceroute", "-I", "-n", "-q", "1", "-w", "2", HOST_B.ip)
                hops = re.findall(r"^\s*(\d+)\s+(\S+)", out, re.MULTILINE)
                assert hops == [("1", "10.0.1.1"), ("2", HOST_B.ip)], out

                code, out = await _in(host_a, "ping", "-c", "1", "-W", "2", "8.8.8.8")
                assert code != 0 and "From 10.0.1.1" in out and "Destination Net Unreachable" in out, out
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                for link in links.values():
                    link.close()
                await server.stop()

        asyncio.run(scenario())
