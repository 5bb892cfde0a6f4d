"""The HDL target's speed: management frames/s, table writes/s, and frames/s forwarded between veths.

The router is the Verilated ManagedRouter that ``twinrouter hdl-switch``
runs (the default build, cached after its first compile).

* management round trips: READ requests of one word, back to back, through
  MgmtClient -> the pipe -> the Verilated management channel -> the bus;
* table writes: neighbour entries installed through CoreDriver (each is a
  few management words and a commit), and routes through the LPM compiler;
* table writes through P4Runtime: ``twinrouter hdl-switch`` started as its
  own process (P4Runtime on a Unix socket), a finsy client in this process
  inserting and then deleting routes and neighbour entries, all of them in
  one WriteRequest, then one update per WriteRequest; end to end, from the
  client's request to the server's answer, which comes once every update has
  reached the gateware over the management channel (best of 3 runs); and the
  round trip of a request that stops at the server (a Read of an empty table)
  and of a Read of every counter cell;
* forwarding: frames sent from a host namespace into port 1 of an
  ``HdlSwitch`` bound to veths in a router namespace, counted at the host on
  port 2: delivered frames per second at the offered load, 64- and 1500-byte
  frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from finsy import P4CounterEntry, P4TableEntry, Switch, SwitchOptions
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from hdl.driver import CoreDriver
from hdl.lpm.compiler import LpmCompiler
from sim.hdl_target.dataplane import ChannelBus
from sim.hdl_target.mgmt_client import MgmtClient
from sim.hdl_target.switch import MGMT_PORT, HdlSwitch, ManagementPort, PortBinding
from sim.hdl_target.verilated_router import RouterBuild, VerilatedRouter, build_binary
from sim.model import Direct, MacAddress, TableState
from sim.netns import NetnsLab
from sim.p4build import P4INFO_PATH
from sim.p4rt_tables import LOCAL_IP, neighbour_entry, route_entry

BUILD = RouterBuild()
ROUNDS = 2000
ENTRIES = 200
NEIGHBOURS = 128  # the default build's neighbour table holds 256 (2-way hash: fuller refuses some)
FRAMES = 3000
WINDOW = 32
#: Routes written through P4Runtime: the default build's LPM holds 512 prefixes.
P4RT_ROUTES = 500
COUNTERS = ("ingress.rx_port", "egress.tx_port", "ingress.drops", "ingress.punts")
#: Each P4Runtime write figure is the best of this many runs: the machine is shared.
P4RT_REPEATS = 3


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


@contextlib.contextmanager
def hdl_switch_process(run_dir: Path) -> Iterator[str]:
    """``twinrouter hdl-switch`` (no front port bound) in a process of its own; yields its P4Runtime address."""
    grpc_socket = run_dir / "p4runtime.sock"
    argv = [sys.executable, "-m", "controller.cli", "hdl-switch", "--grpc", f"unix:{grpc_socket}"]
    argv += ["--binary", str(build_binary(BUILD))]
    with (run_dir / "hdl-switch.log").open("wb") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not grpc_socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hdl-switch did not start; see {run_dir / 'hdl-switch.log'}")
            time.sleep(0.05)
        yield f"unix:{grpc_socket}"
    finally:
        process.terminate()  # by its PID
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _updates_per_second(
    write: Callable[[list[P4TableEntry]], Awaitable[None]], entries: list[P4TableEntry], per_request: int
) -> float:
    start = time.perf_counter()
    for first in range(0, len(entries), per_request):
        await write(entries[first : first + per_request])
    return len(entries) / (time.perf_counter() - start)


def p4runtime_workloads() -> list[tuple[str, list[P4TableEntry]]]:
    # A chunk of the LPM's range table is rewritten whole when its ranges change, so a
    # route costs management words in proportion to the ranges beside it in its /12:
    # one /24 per /12 costs 2-4 words; adjacent /24s of one action merge into few ranges.
    spread = [
        route_entry(IPv4Network((0x0B000000 + (n << 20), 24)), Direct(1 + n % 4)) for n in range(P4RT_ROUTES)
    ]
    adjacent = [route_entry(IPv4Network((0x0B000000 + (n << 8), 24)), Direct(1)) for n in range(ENTRIES)]
    neighbours = [
        neighbour_entry(IPv4Address(0x0A000000 + n), MacAddress(0x020000000000 + n))
        for n in range(NEIGHBOURS)
    ]
    return [
        (f"{P4RT_ROUTES} routes, one /24 per /12, 4 actions", spread),
        (f"{ENTRIES} adjacent /24 routes, one action (CoreDriver's routes above)", adjacent),
        (f"{NEIGHBOURS} neighbour entries", neighbours),
    ]


async def _seconds_per_read(switch: Switch, wanted: list, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        async for _entry in switch.read(wanted):
            pass
    return (time.perf_counter() - start) / repeats


async def p4runtime_figures() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="bench-p4rt-") as run_dir,
        hdl_switch_process(Path(run_dir)) as address,
    ):
        options = SwitchOptions(p4info=P4INFO_PATH, p4blob=b"", p4force=True)
        async with Switch("hdl", address, options) as switch:
            empty = await _seconds_per_read(switch, [P4TableEntry(LOCAL_IP)], ROUNDS // 10)
            print(f"P4Runtime round trip (Read of an empty table, no gateware access): {empty * 1e3:.1f} ms")
            counters = await _seconds_per_read(switch, [P4CounterEntry(name) for name in COUNTERS], 10)
            print(f"P4Runtime Read of the four counter arrays, every cell: {counters * 1e3:.0f} ms")
            for label, entries in p4runtime_workloads():
                for per_request in (len(entries), 1):
                    inserts, deletes = 0.0, 0.0
                    for _ in range(P4RT_REPEATS):
                        inserts = max(inserts, await _updates_per_second(switch.insert, entries, per_request))
                        deletes = max(deletes, await _updates_per_second(switch.delete, entries, per_request))
                    how = "all in one WriteRequest" if per_request > 1 else "one per WriteRequest"
                    print(f"P4Runtime, {label}, {how}: {inserts:,.0f} inserts/s, {deletes:,.0f} deletes/s")


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
    asyncio.run(p4runtime_figures())
    forwarding_figures()


if __name__ == "__main__":
    main()
