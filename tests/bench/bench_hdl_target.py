"""The HDL target's speed: management frames/s, table writes/s, and frames/s forwarded between veths.

The router is the Verilated ManagedRouter that ``twinrouter hdl-switch``
runs (the default build, cached after its first compile).

* management round trips: READ requests of one word, back to back, through
  MgmtClient -> the pipe -> the Verilated management channel -> the bus;
* table writes: neighbour entries installed through CoreDriver (each is a
  few management words and a commit), and routes through the LPM compiler;
* forwarding: frames sent from a host namespace into port 1 of an
  ``HdlSwitch`` bound to veths in a router namespace, counted at the host on
  port 2: delivered frames per second at the offered load, 64- and 1500-byte
  frames.
"""

from __future__ import annotations

import asyncio
import socket
import time
from ipaddress import IPv4Address, IPv4Network

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from hdl.driver import CoreDriver
from hdl.lpm.compiler import LpmCompiler
from sim.hdl_target.dataplane import ChannelBus
from sim.hdl_target.mgmt_client import MgmtClient
from sim.hdl_target.switch import MGMT_PORT, HdlSwitch, ManagementPort, PortBinding
from sim.hdl_target.verilated_router import RouterBuild, VerilatedRouter
from sim.model import Direct, MacAddress, TableState
from sim.netns import NetnsLab

BUILD = RouterBuild()
ROUNDS = 2000
ENTRIES = 200
NEIGHBOURS = 128  # the default build's neighbour table holds 256 (2-way hash: fuller refuses some)
FRAMES = 3000
WINDOW = 32


async def management_figures() -> None:
    router = await VerilatedRouter.start(BUILD)
    management = ManagementPort(router)

    async def pump() -> None:
        while True:
            port, frame = await router.receive()
            if port == MGMT_PORT:
                management.incoming.put_nowait(frame)

    task = asyncio.create_task(pump())
    try:
        async with MgmtClient(management) as client:
            start = time.perf_counter()
            for _ in range(ROUNDS):
                await client.read(0, 1)
            elapsed = time.perf_counter() - start
            print(
                f"management round trips: {ROUNDS / elapsed:,.0f} /s ({elapsed / ROUNDS * 1e6:.0f} us each)"
            )

            driver = CoreDriver(ChannelBus(client), LpmCompiler(BUILD.lpm_geometry()))
            await driver.connect()
            start = time.perf_counter()
            for n in range(NEIGHBOURS):
                await driver.add_neighbour(IPv4Address(0x0A000000 + n), MacAddress(0x020000000000 + n))
            elapsed = time.perf_counter() - start
            print(f"neighbour entries: {NEIGHBOURS / elapsed:,.0f} /s")
            await driver.set_port_mac(1, MacAddress(0x020000000001))
            start = time.perf_counter()
            for n in range(ENTRIES):
                await driver.add_route(IPv4Network((0x0B000000 + (n << 8), 24)), Direct(1))
            elapsed = time.perf_counter() - start
            print(f"routes (/24s through the LPM compiler): {ENTRIES / elapsed:,.0f} /s")
    finally:
        task.cancel()
        await router.stop()


def forwarding_figures() -> None:
    with NetnsLab("bench-hdl") as lab:
        router_ns, h1, h2 = lab.namespace("r"), lab.namespace("h1"), lab.namespace("h2")
        lab.veth(router_ns, "p1", h1, "eth0", a_mac="02:00:00:00:00:01", b_mac="02:00:00:00:01:0a")
        lab.veth(router_ns, "p2", h2, "eth0", a_mac="02:00:00:00:00:02", b_mac="02:00:00:00:02:14")
        for ns, name in ((router_ns, "p1"), (router_ns, "p2"), (h1, "eth0"), (h2, "eth0")):
            ns.ip("link", "set", name, "promisc", "on")
        sender, receiver = h1.packet_socket("eth0"), h2.packet_socket("eth0")
        sender.setblocking(False)
        receiver.settimeout(0.5)
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        tables = TableState(
            port_macs={1: MacAddress.parse("02:00:00:00:00:01"), 2: MacAddress.parse("02:00:00:00:00:02")},
            routes={IPv4Network("10.0.1.0/24"): Direct(1), IPv4Network("10.0.2.0/24"): Direct(2)},
            neighbours={IPv4Address("10.0.2.20"): MacAddress.parse("02:00:00:00:02:14")},
        )
        for size in (64, 1500):
            frame = bytes(
                Ether(dst="02:00:00:00:00:01", src="02:00:00:00:01:0a")
                / IP(src="10.0.1.10", dst="10.0.2.20")
                / UDP(sport=1000, dport=2000)
            )
            frame = frame.ljust(size, b"\x00")
            delivered, elapsed = asyncio.run(_forward(router_ns, tables, sender, receiver, frame))
            print(
                f"forwarded {size}-byte frames veth -> hdl-switch -> veth: {delivered}/{FRAMES} delivered, "
                f"{delivered / elapsed:,.0f} frames/s"
            )


async def _forward(router_ns, tables, sender, receiver, frame) -> tuple[int, float]:
    with router_ns.entered():
        switch = HdlSwitch(BUILD, [PortBinding(1, "p1"), PortBinding(2, "p2")], "127.0.0.1:0")
        await switch.start()
    try:
        assert switch.server is not None
        await switch.server.dataplane.driver.install(tables)  # type: ignore[attr-defined]
        # Closed loop, WINDOW frames in flight: what the switch sustains without
        # overrunning its sockets' buffers (an open-loop blast measures those).
        loop = asyncio.get_running_loop()
        delivered = 0
        start = time.perf_counter()
        for _ in range(FRAMES // WINDOW):
            for _ in range(WINDOW):
                await loop.sock_sendall(sender, frame)
            for _ in range(WINDOW):
                try:
                    data = await asyncio.to_thread(receiver.recv, 16384)
                except TimeoutError:
                    break
                delivered += data[:12] == bytes.fromhex("020000000214020000000002")
        return delivered, time.perf_counter() - start
    finally:
        await switch.stop()


def main() -> None:
    asyncio.run(management_figures())
    forwarding_figures()


if __name__ == "__main__":
    main()
