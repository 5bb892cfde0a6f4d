"""Runs frames through a RouterCore in the Amaranth simulator and compares with the reference model."""

from __future__ import annotations

import random
from collections import Counter as Multiset
from dataclasses import dataclass, field

from amaranth.sim import Simulator

from hdl.core import RouterCore
from hdl.driver import CoreCounters, CoreDriver
from hdl.lpm.compiler import LpmCompiler
from hdl.simbus import AmaranthSimBus
from sim.model import CPU_PORT, Drop, Forward, Punt, ReferencePipeline, TableState
from tests.hdl.simlib import recv_frame, send_frame


def port_index(core: RouterCore, number: int) -> int:
    return core.num_ports if number == CPU_PORT else number - 1


@dataclass
class Expected:
    """What the model says leaves each port, as multisets (order across inputs is not fixed)."""

    outputs: dict[int, Multiset] = field(default_factory=dict)
    model: ReferencePipeline | None = None

    @classmethod
    def of(cls, tables: TableState, frames: list[tuple[int, bytes]]) -> Expected:
        model = ReferencePipeline(tables)
        outputs: dict[int, Multiset] = {}
        for port, frame in frames:
            outcome = model.process(frame, port)
            if isinstance(outcome, Forward):
                outputs.setdefault(outcome.port, Multiset())[outcome.frame] += 1
            elif isinstance(outcome, Punt):
                outputs.setdefault(CPU_PORT, Multiset())[outcome.packet_in_bytes()] += 1
            else:
                assert isinstance(outcome, Drop)
        return cls(outputs, model)

    def count(self, port: int) -> int:
        return sum(self.outputs.get(port, Multiset()).values())


def run_core(
    core: RouterCore,
    tables: TableState,
    frames: list[tuple[int, bytes]],
    *,
    seed: int = 0,
    idle: float = 0.1,
    stall: float = 0.2,
    deadline: int = 200_000,
) -> tuple[dict[int, Multiset], CoreCounters, Expected]:
    """Install ``tables``, send ``(port number, frame)`` pairs, collect every output and the counters."""
    expected = Expected.of(tables, frames)
    rng = random.Random(seed)
    received: dict[int, Multiset] = {}
    result: dict[str, CoreCounters] = {}
    installed = []
    numbers = [*range(1, core.num_ports + 1), CPU_PORT]

    async def manage(ctx):
        driver = CoreDriver(AmaranthSimBus(ctx, core.mgmt), LpmCompiler(core.lpm.geometry))
        await driver.install(tables)
        installed.append(True)
        # Wait for every output, then let the pipeline drain before reading the counters.
        for _ in range(deadline):
            if all(sum(received.get(n, Multiset()).values()) >= expected.count(n) for n in numbers):
                break
            await ctx.tick()
        await ctx.tick().repeat(200)
        result["counters"] = await driver.read_counters()

    def sender(number: int):
        async def send(ctx):
            while not installed:
                await ctx.tick()
            for port, frame in frames:
                if port == number:
                    await send_frame(ctx, core.rx[port_index(core, number)], frame, core.width, rng, idle)

        return send

    def receiver(number: int):
        async def receive(ctx):
            port = core.tx[port_index(core, number)]
            while True:
                frame = await recv_frame(ctx, port, core.width, rng, stall)
                received.setdefault(number, Multiset())[frame] += 1

        return receive

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(manage)
    for number in numbers:
        sim.add_testbench(sender(number), background=True)
        sim.add_testbench(receiver(number), background=True)
    sim.run()
    return received, result["counters"], expected
