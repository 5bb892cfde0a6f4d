"""cocotb test bench for the generated Verilog of the router core (run by tests/hdl/test_cocotb_core.py).

The job (JSON at ``$ROUTER_JOB``) lists groups of frames, each with the
tables to install first; the bench sends every group's frames on their ports
at once (:class:`~tests.hdl.cocotb_streams.Streams`, with random idle
cycles), takes the outputs with random backpressure, reads the counters, and
writes everything to ``$ROUTER_RESULT`` for the pytest side to judge
against the model.
"""

from __future__ import annotations

import json
import os
import random
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles

from hdl.driver import CoreDriver
from hdl.lpm.compiler import LpmCompiler
from hdl.lpm.geometry import LpmGeometry
from hdl.simbus import CocotbBus
from sim.model import TableState
from tests.hdl.cocotb_streams import Streams


def counters_json(counters) -> dict:
    """A :class:`~sim.model.Counters` as plain, ordered data (for comparing across processes)."""
    return {
        name: sorted([int(key), value.packets, value.bytes] for key, value in getattr(counters, name).items())
        for name in ("rx_port", "tx_port", "drops", "punts")
    }


async def drain(dut, streams: Streams, expect: list[int] | None, timeout_cycles: int) -> None:
    """Wait until every frame is sent and the outputs are done; fail if the router stops moving.

    With ``expect`` (frames per output) wait for those; without (a soak, where
    queues may tail drop) wait until no output beat has moved for a while.
    The timeout counts cycles without progress, so a long soak never trips it
    but a lockup does.
    """
    step, quiet = 64, 2048
    moved, still = -1, 0  # beats so far; cycles since the last one
    while True:
        await ClockCycles(dut.clk, step)
        now = sum(s.beats for s in streams.sinks) + sum(len(s.sent_at) for s in streams.sources)
        still = still + step if now == moved else 0
        moved = now
        if expect is not None:
            if all(len(sink.frames) >= count for sink, count in zip(streams.sinks, expect, strict=True)):
                return
        elif not streams.sending() and not streams.receiving() and still >= quiet:
            return
        if still > timeout_cycles:
            raise TimeoutError(f"nothing moved for {still} cycles: a lockup")


@cocotb.test()
async def run_job(dut):
    with open(os.environ["ROUTER_JOB"]) as source:
        job = json.load(source)
    ports = job["ports"] + 1
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0

    width = len(dut.rx0_tkeep)
    rng = random.Random(job.get("seed", 1))
    streams = Streams(dut, ports, width, rng=rng, idle=job["idle"], stall=job["stall"])
    cocotb.start_soon(streams.run())
    driver = CoreDriver(CocotbBus(dut, dut.clk), LpmCompiler(LpmGeometry(**job["lpm"])))
    await driver.connect()
    results = []
    for group in job["groups"]:
        await driver.install(TableState.from_json(group["tables"]))
        start, cycles = time.monotonic(), streams.cycle
        for index, frame in group["frames"]:
            streams.send(index, bytes.fromhex(frame))
        await drain(dut, streams, group["expect"], job["timeout_cycles"])
        wall, cycles = time.monotonic() - start, streams.cycle - cycles
        await ClockCycles(dut.clk, 300)  # anything more that comes out is an error
        outputs = {str(index): [frame.hex() for frame in streams.take(index)] for index in range(ports)}
        counters = (await driver.read_counters()).counters
        result = {"outputs": outputs, "counters": counters_json(counters), "wall_s": wall, "cycles": cycles}
        results.append(result | streams.take_timing())
    with open(os.environ["ROUTER_RESULT"], "w") as out:
        json.dump(results, out)
