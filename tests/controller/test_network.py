"""Real hosts, real ping and traceroute, through the controller, on every data plane.

Two hosts on two subnets, each in its own network namespace, cabled by
veth pairs to a third namespace where the switch's ports are. The switch
is a process bound to those interfaces (see :mod:`.dataplanes`): the
reference model, the HDL router under Verilator (``twinrouter hdl-switch``)
or BMv2. The controller programs it over P4Runtime on a Unix socket. The
hosts are plain Linux: they ARP for their gateway, ping, and run traceroute.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

import pytest

from controller.config import parse_config
from controller.intent import Op, Table, Update
from sim.model import MacAddress, NullRoute
from sim.netns import Namespace, NetnsLab, run
from tests.needs import needs_p4info

from .conftest import HOST_A, HOST_B, ROUTER_TOML, Host
from .dataplanes import DATA_PLANE_PARAMS, DATA_PLANES, SwitchProcess
from .session import running_controller, settled, until

pytestmark = [
    needs_p4info,
    pytest.mark.network,  # needs root: sim.netns refuses, failing the test, without it
    pytest.mark.usefixtures("quick_retry"),
]
CONFIG = parse_config(ROUTER_TOML, "r1.toml")
OFFLOADS = ("rx", "tx", "sg", "tso", "gso", "gro")
TIMEOUT = 30.0


@dataclass(frozen=True)
class Network:
    host_a: Namespace
    host_b: Namespace
    switch: SwitchProcess

    def controller(self, election_id: int = 10):
        return running_controller(CONFIG, self.switch.address, self.switch.kind.pipeline, election_id)


@pytest.fixture(params=DATA_PLANE_PARAMS)
def network(request, tmp_path) -> Iterator[Network]:
    with NetnsLab("twr-ctl") as lab:
        switch_ns = lab.namespace("sw")
        switch_ns.sysctl({"net.ipv6.conf.all.disable_ipv6": 1})
        host_a = _host(lab, switch_ns, 1, HOST_A)
        host_b = _host(lab, switch_ns, 2, HOST_B)
        switch = SwitchProcess(DATA_PLANES[request.param], switch_ns, [(1, "p1"), (2, "p2")], tmp_path)
        switch.start()
        try:
            yield Network(host_a, host_b, switch)
        finally:
            switch.stop()


def _host(lab: NetnsLab, switch: Namespace, port: int, host: Host) -> Namespace:
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


async def _ping(ns: Namespace, address: str, count: int = 1) -> None:
    code, out = await _in(ns, "ping", "-c", str(count), "-i", "0.2", "-W", "2", address)
    assert code == 0 and f"{count} received" in out, out


def test_hosts_ping_each_other_and_the_router_and_traceroute_sees_each_hop(network):
    async def scenario():
        async with network.controller():
            await _ping(network.host_a, HOST_B.ip, count=3)
            await _ping(network.host_b, HOST_A.ip)  # and back: both neighbours are in the switch now
            await _ping(network.host_a, "10.0.2.1")  # the router's far address

            code, out = await _in(network.host_a, "traceroute", "-I", "-n", "-q", "1", "-w", "2", HOST_B.ip)
            hops = re.findall(r"^\s*(\d+)\s+(\S+)", out, re.MULTILINE)
            assert hops == [("1", "10.0.1.1"), ("2", HOST_B.ip)], out

            code, out = await _in(network.host_a, "ping", "-c", "1", "-W", "2", "8.8.8.8")
            assert code != 0 and "From 10.0.1.1" in out and "Destination Net Unreachable" in out, out

    asyncio.run(scenario())


def test_a_restarted_switch_gets_every_entry_once_and_a_restarted_controller_writes_nothing(network):
    async def scenario():
        async with network.controller() as (router, session):
            await _ping(network.host_a, HOST_B.ip)
            await settled(session)
            intent = router.intent()
            assert (Table.ARP, IPv4Address(HOST_A.ip)) in intent and (
                Table.ARP,
                IPv4Address(HOST_B.ip),
            ) in intent
            written = session.counters["reconcile_updates"]

            # The switch process goes away mid-run and comes back empty.
            await asyncio.to_thread(network.switch.restart)
            await until(lambda: session.counters["reconciles"] >= 2)
            await settled(session)
            assert await session.read_entries() == intent
            # Every entry written exactly once (an INSERT of a duplicate would have been refused).
            assert session.counters["reconcile_updates"] - written == len(intent)
            assert session.counters["updates_rejected"] == 0
            await _ping(network.host_a, HOST_B.ip)  # traffic resumes, with the neighbours restored

        # The controller goes away; the switch keeps its tables and forwards on its own meanwhile.
        await _ping(network.host_b, HOST_A.ip)
        async with network.controller(election_id=11) as (router, session):
            await settled(session)
            await _ping(network.host_a, HOST_B.ip, count=3)
            await _ping(network.host_a, "10.0.2.1")
            # It adopted what it found and wrote nothing, then or since.
            assert router.intent() == intent
            assert session.counters["reconcile_updates"] == 0
            assert session.counters["writes"] == 0
            assert await session.read_entries() == intent

    asyncio.run(scenario())


def test_stale_and_wrong_entries_found_on_the_switch_are_removed_and_fixed(network):
    async def scenario():
        async with network.controller() as (router, session):
            await settled(session)
            # Behind the controller's back: a stale route, and a wrong source MAC on port 1.
            stale = Update(Op.INSERT, Table.IPV4_LPM, IPv4Network("10.77.0.0/16"), NullRoute())
            wrong = Update(Op.MODIFY, Table.PORT_MAC, 1, MacAddress(0x02_00_00_00_99_99))
            await session.switch.write([session.codec.update(stale), session.codec.update(wrong)])
        async with network.controller(election_id=11) as (router, session):
            await settled(session)
            assert session.counters["reconcile_updates"] == 2
            assert await session.read_entries() == router.intent()
            await _ping(network.host_a, HOST_B.ip)  # answers leave port 1 from the router's MAC again

    asyncio.run(scenario())
