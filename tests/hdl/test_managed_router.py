"""The managed router under Verilator, programmed through its management channel, runs the corpus.

This is the HDL target's whole data path below P4Runtime: tables go in as
0x88B5 management frames (CoreDriver -> MgmtClient -> MgmtChannel -> bus),
frames go in and out of the Verilated gateware, punts come back as
PACKET_IN, and packet_out goes in as PACKET_OUT. Every vector of the shared
corpus built for this port count must give the model's outcome, and each
table state's counters must equal the model's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from itertools import groupby
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from hdl.driver import CoreDriver
from hdl.lpm.compiler import LpmCompiler
from sim.hdl_target.dataplane import ChannelBus
from sim.hdl_target.mgmt_client import MgmtClient, MgmtError
from sim.hdl_target.mgmt_protocol import Status
from sim.hdl_target.switch import MGMT_PORT, ManagementPort
from sim.hdl_target.verilated_router import RouterBuild, VerilatedRouter, build_binary
from sim.model import CPU_PORT, Drop, Forward, Punt, ReferencePipeline
from sim.vectors import Vector

BUILD = RouterBuild()  # the configuration the demo and hdl-switch use
SETTLE = 0.05  # seconds with no output before a drop is taken as a drop


class Harness:
    def __init__(self, router: VerilatedRouter):
        self.router = router
        self.management = ManagementPort(router)
        self.outputs: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
        self.client = MgmtClient(self.management, timeout=2.0)
        self.driver = CoreDriver(ChannelBus(self.client), LpmCompiler(BUILD.lpm_geometry()))

    async def pump(self) -> None:
        while True:
            port, frame = await self.router.receive()
            if port == MGMT_PORT:
                self.management.incoming.put_nowait(frame)
            else:
                self.outputs.put_nowait((port, frame))

    async def send(self, vector: Vector) -> None:
        if vector.ingress_port == CPU_PORT:
            await self.client.packet_out(vector.frame)
        else:
            await self.router.send(vector.ingress_port, vector.frame)

    async def nothing_more(self) -> None:
        await asyncio.sleep(SETTLE)
        assert self.outputs.empty(), f"unexpected frame out: {self.outputs.get_nowait()}"
        assert self.client.packet_ins.empty(), (
            f"unexpected packet-in: {self.client.packet_ins.get_nowait().hex()}"
        )


@pytest.fixture(scope="module")
def binary() -> Path:
    """One build for the module (the first run of a configuration compiles it; later ones find it cached)."""
    return build_binary(BUILD)


@contextlib.asynccontextmanager
async def running(binary: Path) -> AsyncIterator[Harness]:
    router = await VerilatedRouter.start(BUILD, binary)
    harness = Harness(router)
    pump = asyncio.create_task(harness.pump())
    try:
        async with harness.client:
            await harness.driver.connect()
            yield harness
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        await router.stop()


async def check_outcome(harness: Harness, vector: Vector) -> None:
    await harness.send(vector)
    expected = vector.expected
    if isinstance(expected, Forward):
        port, frame = await asyncio.wait_for(harness.outputs.get(), 5)
        assert (port, frame.hex()) == (expected.port, expected.frame.hex()), vector.name
    elif isinstance(expected, Punt):
        packet_in = await asyncio.wait_for(harness.client.packet_ins.get(), 5)
        assert packet_in.hex() == expected.packet_in_bytes().hex(), vector.name
    else:
        assert isinstance(expected, Drop)
    await harness.nothing_more()


def is_empty_packet_out(vector: Vector) -> bool:
    return vector.ingress_port == CPU_PORT and not vector.frame


def test_corpus_through_the_management_channel(corpus, binary):
    # An empty CPU-port frame cannot be sent: the management protocol refuses an
    # empty PACKET_OUT (tested below), and P4Runtime never makes one (its
    # packet_out header alone is 2 bytes).
    vectors = [v for v in corpus if v.tables.num_ports == BUILD.num_ports and not is_empty_packet_out(v)]
    assert len(vectors) > 150, "most of the corpus is written for the 4-port build"

    async def scenario():
        async with running(binary) as harness:
            key = lambda v: repr(v.tables.to_json())  # noqa: E731
            for _, group in groupby(sorted(vectors, key=key), key=key):
                group = list(group)
                await harness.driver.install(group[0].tables)
                before = (await harness.driver.read_counters()).counters
                model = ReferencePipeline(group[0].tables)
                for vector in group:
                    model.process(vector.frame, vector.ingress_port)
                    await check_outcome(harness, vector)
                after = (await harness.driver.read_counters()).counters
                for array in ("rx_port", "tx_port", "drops", "punts"):
                    delta = {
                        k: (v.packets - getattr(before, array).get(k, v.__class__()).packets)
                        for k, v in getattr(after, array).items()
                    }
                    delta = {k: n for k, n in delta.items() if n}
                    want = {k: v.packets for k, v in getattr(model.counters, array).items()}
                    assert delta == want, f"{array} after table state {group[0].tags}"

    asyncio.run(scenario())


@pytest.mark.parametrize("size", [60, 1500, 9000])
def test_frames_of_every_size_cross_the_management_channel_both_ways(corpus, binary, size):
    """A punt of ``size`` bytes arrives whole as PACKET_IN; a PACKET_OUT of that size leaves whole."""
    tables = next(v.tables for v in corpus if v.tables.num_ports == BUILD.num_ports and v.tables.local_ips)
    local = sorted(tables.local_ips)[0]
    ip = IP(src="192.0.2.1", dst=str(local)) / UDP(sport=1, dport=2)
    frame = bytes(Ether(dst=str(tables.router_mac(1)), src="02:00:00:00:99:01") / ip)
    frame += bytes(range(256)) * (size // 256 + 1)
    frame = frame[:size]
    expected = ReferencePipeline(tables).decide(frame, 1)
    assert isinstance(expected, Punt), "the frame is for the router"

    async def scenario():
        async with running(binary) as harness:
            await harness.driver.install(tables)
            await harness.router.send(1, frame)
            packet_in = await asyncio.wait_for(harness.client.packet_ins.get(), 5)
            assert packet_in == expected.packet_in_bytes()
            await harness.client.packet_out((2).to_bytes(2, "big") + frame)
            assert await asyncio.wait_for(harness.outputs.get(), 5) == (2, frame)
            await harness.nothing_more()

    asyncio.run(scenario())


def test_an_empty_packet_out_is_refused_and_never_reaches_the_pipeline(corpus, binary):
    vector = next(v for v in corpus if is_empty_packet_out(v))

    async def scenario():
        async with running(binary) as harness:
            with pytest.raises(MgmtError) as refused:
                await harness.client.packet_out(vector.frame)
            assert refused.value.status == Status.MALFORMED
            counters = (await harness.driver.read_counters()).counters
            assert CPU_PORT not in counters.rx_port
            await harness.nothing_more()

    asyncio.run(scenario())
