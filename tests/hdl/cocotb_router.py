"""cocotb test bench for the generated Verilog of the router core (run by tests/hdl/test_cocotb_core.py).

The job (JSON at ``$ROUTER_JOB``) lists groups of frames, each with the
tables to install first; the bench sends every group's frames on their ports
at once through cocotbext-axi sources with idle cycles, takes the outputs
through sinks with backpressure, reads the counters, and writes everything
to ``$ROUTER_RESULT`` for the pytest side to judge against the model.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from hdl.driver import CoreDriver
from hdl.lpm.compiler import LpmCompiler
from hdl.lpm.geometry import LpmGeometry
from hdl.simbus import CocotbBus
from sim.model import TableState


def counters_json(counters) -> dict:
    """A :class:`~sim.model.Counters` as plain, ordered data (for comparing across processes)."""
    return {
        name: sorted([int(key), value.packets, value.bytes] for key, value in getattr(counters, name).items())
        for name in ("rx_port", "tx_port", "drops", "punts")
    }


def pauses(rng: random.Random, probability: float):
    while True:
        yield rng.random() < probability


def axis_frame(frame: bytes) -> AxiStreamFrame:
    # An empty frame is one beat with no valid byte (cocotbext-axi cannot send zero bytes).
    return AxiStreamFrame(frame) if frame else AxiStreamFrame(b"\x00", tkeep=[0])


async def quiescent(dut, sources, sinks, timeout_us: int) -> None:
    """Wait until every source has sent everything and no sink has seen a beat for a while."""
    quiet = 0
    for _ in range(timeout_us * 100):
        await ClockCycles(dut.clk, 1)
        busy = any(not source.idle() for source in sources) or any(sink.active for sink in sinks)
        quiet = 0 if busy else quiet + 1
        if quiet > 2000:
            return
    raise TimeoutError("the router never went quiet: a lockup")


@cocotb.test()
async def run_job(dut):
    with open(os.environ["ROUTER_JOB"]) as source:
        job = json.load(source)
    ports = job["ports"] + 1
    rng = random.Random(job.get("seed", 1))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0

    sources = [
        AxiStreamSource(AxiStreamBus.from_prefix(dut, f"rx{i}"), dut.clk, dut.rst) for i in range(ports)
    ]
    sinks = [AxiStreamSink(AxiStreamBus.from_prefix(dut, f"tx{i}"), dut.clk, dut.rst) for i in range(ports)]
    for source in sources:
        source.set_pause_generator(pauses(rng, job["idle"]))
    for sink in sinks:
        sink.set_pause_generator(pauses(rng, job["stall"]))

    driver = CoreDriver(CocotbBus(dut, dut.clk), LpmCompiler(LpmGeometry(**job["lpm"])))
    await driver.connect()
    results = []
    for group in job["groups"]:
        await driver.install(TableState.from_json(group["tables"]))
        for index, frame in group["frames"]:
            await sources[index].send(axis_frame(bytes.fromhex(frame)))
        outputs: dict[str, list[str]] = {str(index): [] for index in range(ports)}
        if group["expect"] is None:
            # Soak: queues may tail drop, so wait for the traffic to end instead of for frames.
            await quiescent(dut, sources, sinks, job["timeout_us"])
        for index, count in enumerate(group["expect"] or []):
            for _ in range(count):
                frame = await with_timeout(sinks[index].recv(), job["timeout_us"], "us")
                outputs[str(index)].append(bytes(frame.tdata).hex())
        await ClockCycles(dut.clk, 300)  # anything more that comes out is an error
        for index, sink in enumerate(sinks):
            while not sink.empty():
                outputs[str(index)].append(bytes(sink.recv_nowait().tdata).hex())
        counters = (await driver.read_counters()).counters
        results.append({"outputs": outputs, "counters": counters_json(counters)})
    with open(os.environ["ROUTER_RESULT"], "w") as out:
        json.dump(results, out)
