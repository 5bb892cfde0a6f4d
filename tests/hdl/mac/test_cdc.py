"""StreamAsyncFifo in the Amaranth simulator: every word crosses once, in order, with the
writer faster or slower than the reader, random idle cycles on both sides, and the
flags never letting a word through early, twice or not at all."""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from hdl.mac.cdc import StreamAsyncFifo
from tests.hdl.simlib import assert_rejected

WORDS = 600

#: (write clock period, read clock period) in ns: the MAC's two crossings on a board
#: (125 MHz ⇄ 37.5 MHz), and clocks a hair apart.
CLOCKS = {"fast to slow": (8.0, 26.7), "slow to fast": (26.7, 8.0), "near": (8.0, 8.1)}


def run(write_ns: float, read_ns: float, *, write_busy: float, read_busy: float, seed: int) -> list[int]:
    dut = StreamAsyncFifo(16, depth=8, w_domain="write", r_domain="read")
    m = Module()
    m.domains.write, m.domains.read = ClockDomain("write"), ClockDomain("read")
    m.submodules.dut = dut
    sim = Simulator(m)
    sim.add_clock(write_ns * 1e-9, domain="write")
    sim.add_clock(read_ns * 1e-9, domain="read")
    rng = random.Random(seed)
    received: list[int] = []

    async def writer(ctx):
        # At power-up the reader follows the writer's pointer for a few of its cycles
        # (the write domain's reset, synchronized): a board's domains leave reset together.
        await ctx.tick("read").repeat(6)
        for word in range(WORDS):
            ctx.set(dut.w.payload, word)
            ctx.set(dut.w.valid, 1)
            await ctx.tick("write").until(dut.w.ready)
            ctx.set(dut.w.valid, 0)
            while rng.random() > write_busy:
                await ctx.tick("write")

    async def reader(ctx):
        while len(received) < WORDS:
            ready = rng.random() < read_busy
            ctx.set(dut.r.ready, ready)
            _, _, valid, payload = await ctx.tick("read").sample(dut.r.valid, dut.r.payload)
            if valid and ready:
                received.append(payload)

    sim.add_testbench(writer)
    sim.add_testbench(reader)
    sim.run_until(WORDS * 40 * max(write_ns, read_ns) * 1e-9)
    return received


@pytest.mark.parametrize("clocks", list(CLOCKS))
@pytest.mark.parametrize("load", ["full", "random"])
def test_every_word_crosses_once_in_order(clocks: str, load: str) -> None:
    write_ns, read_ns = CLOCKS[clocks]
    busy = 1.0 if load == "full" else 0.6
    received = run(write_ns, read_ns, write_busy=busy, read_busy=busy, seed=len(clocks))
    assert received == list(range(WORDS))


def test_depth_is_checked() -> None:
    assert_rejected(lambda: StreamAsyncFifo(8, depth=12, w_domain="a", r_domain="b"), "depth")
    assert_rejected(lambda: StreamAsyncFifo(8, depth=2, w_domain="a", r_domain="b"), "depth")
