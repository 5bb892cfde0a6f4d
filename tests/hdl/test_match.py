"""The match stages take one header vector per clock, back to back, and answer in order."""

from __future__ import annotations

from amaranth.sim import Simulator

from hdl.exact import ExactMatchTable
from hdl.lpm.engine import LpmEngine
from hdl.lpm.geometry import LpmGeometry
from hdl.match import Match
from hdl.parser import EarlyVerdict

CYCLES = 120


def test_one_header_per_clock_with_decisions_in_order():
    lpm = LpmEngine(LpmGeometry(direct_bits=8, slot_bits=12))
    dut = Match(
        num_ports=4,
        lpm=lpm,
        local_ip=ExactMatchTable(value_width=0, rows=4),
        arp=ExactMatchTable(value_width=48, rows=4),
    )
    accepted: list[int] = []
    decided: list[int] = []

    async def feed(ctx):
        ctx.set(dut.decision.ready, 1)
        ctx.set(dut.header.valid, 1)
        for cycle in range(CYCLES):
            tag = cycle % 5
            ctx.set(dut.header.payload.port, tag)
            ctx.set(dut.header.payload.body.verdict, EarlyVerdict.LOOKUP)
            ctx.set(dut.header.payload.body.dst, 0x0A000001 + cycle)
            ctx.set(dut.header.payload.body.ttl, 64)
            _, _, ready, valid, port = await ctx.tick().sample(
                dut.header.ready, dut.decision.valid, dut.decision.payload.port
            )
            if ready:
                accepted.append(tag)
            if valid:
                decided.append(port)
        ctx.set(dut.header.valid, 0)
        for _ in range(lpm.latency + 20):
            _, _, valid, port = await ctx.tick().sample(dut.decision.valid, dut.decision.payload.port)
            if valid:
                decided.append(port)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(feed)
    sim.run()
    # Without room for the local_ip answers beside the LPM this took two headers per LPM latency.
    assert len(accepted) == CYCLES
    assert decided == accepted
