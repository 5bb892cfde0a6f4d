"""The counter block: every event counted exactly, at the highest event rates, while the host reads."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from amaranth.sim import Simulator

from hdl.counters import CounterArray, CounterBlock, counter_address
from hdl.parser import OVERSIZE_DROP
from hdl.simbus import AmaranthSimBus
from sim.model.codes import CPU_PORT, DROP_COUNTER_SIZE, PUNT_COUNTER_SIZE, DropReason, PuntReason
from tests.hdl.simlib import assert_rejected

PORTS = 2
MAX_LENGTH = (1 << 16) - 1
#: The reasons the pipeline gives; the other counter indices must read 0.
DROP_REASONS = sorted({*DropReason, OVERSIZE_DROP})


def _events(rng: random.Random, saturate: bool) -> dict:
    """One clock of events: each input valid (always, with ``saturate``), random or maximal lengths."""

    def event(**fields):
        valid = saturate or rng.random() < 0.5
        return {
            "valid": int(valid),
            "length": MAX_LENGTH if saturate else rng.randrange(MAX_LENGTH + 1),
            **fields,
        }

    return {
        "rx": [event() for _ in range(PORTS + 1)],
        "tx": [event() for _ in range(PORTS + 1)],
        "queue_full": [event() for _ in range(PORTS + 1)],
        "drop": event(reason=DropReason.QUEUE_FULL if saturate else rng.choice(DROP_REASONS)),
        "punt": event(reason=rng.choice(list(PuntReason))),
    }


def _tally(truth: Counter, clock: dict, number) -> None:
    def add(array: CounterArray, index: int, event: dict) -> None:
        if event["valid"]:
            truth[array, index, False] += 1
            truth[array, index, True] += event["length"]

    for index in range(PORTS + 1):
        add(CounterArray.RX_PORT, number(index), clock["rx"][index])
        add(CounterArray.TX_PORT, number(index), clock["tx"][index])
        add(CounterArray.DROPS, DropReason.QUEUE_FULL, clock["queue_full"][index])
    add(CounterArray.DROPS, clock["drop"]["reason"], clock["drop"])
    add(CounterArray.PUNTS, clock["punt"]["reason"], clock["punt"])


async def _read(bus, array: CounterArray, index: int, bytes_: bool) -> int:
    low = await bus.read(counter_address(array, index, bytes_=bytes_, high=False))
    return (await bus.read(counter_address(array, index, bytes_=bytes_, high=True))) << 32 | low


@pytest.mark.parametrize("saturate", [False, True], ids=["random", "every-input-every-clock-at-max-length"])
def test_counts_are_exact_while_read(saturate):
    rng = random.Random(3)
    dut = CounterBlock(PORTS)
    truth: Counter = Counter()
    cells = [
        *(
            (a, dut.port_number(i), b)
            for a in (CounterArray.RX_PORT, CounterArray.TX_PORT)
            for i in range(PORTS + 1)
            for b in (False, True)
        ),
        *((CounterArray.DROPS, r, b) for r in range(DROP_COUNTER_SIZE) for b in (False, True)),
        *((CounterArray.PUNTS, r, b) for r in range(PUNT_COUNTER_SIZE) for b in (False, True)),
    ]
    state = {"running": True, "clocks": 0}

    async def drive(ctx):
        while state["running"]:
            clock = _events(rng, saturate)
            for name in ("rx", "tx", "queue_full"):
                for index, event in enumerate(clock[name]):
                    ctx.set(getattr(dut, name)[index], event)
            ctx.set(dut.drop, clock["drop"])
            ctx.set(dut.punt, clock["punt"])
            await ctx.tick()
            _tally(truth, clock, dut.port_number)
            state["clocks"] += 1
        for name in ("rx", "tx", "queue_full"):
            for index in range(PORTS + 1):
                ctx.set(getattr(dut, name)[index].valid, 0)
        ctx.set(dut.drop.valid, 0)
        ctx.set(dut.punt.valid, 0)

    async def host(ctx):
        bus = AmaranthSimBus(ctx, dut.mgmt)
        # While events arrive: every read is at least what was counted before it, never more than after.
        # Saturated, the QUEUE_FULL bytes pass 2**32 (their high half counts) after ~16,400 clocks.
        while state["clocks"] < (20_000 if saturate else 2_000):
            cell = rng.choice(cells)
            before = truth[cell]
            value = await _read(bus, *cell)
            assert before <= value <= truth[cell], cell
        state["running"] = False
        await ctx.tick().repeat(3)
        for cell in cells:
            assert await _read(bus, *cell) == truth[cell], cell
        # Unmapped addresses read 0; writes are ignored.
        assert await bus.read(counter_address(CounterArray.RX_PORT, 200, bytes_=False, high=False)) == 0
        await bus.write(counter_address(CounterArray.RX_PORT, CPU_PORT, bytes_=False, high=False), 7)
        assert (
            await _read(bus, CounterArray.RX_PORT, CPU_PORT, False)
            == truth[CounterArray.RX_PORT, CPU_PORT, False]
        )

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(drive, background=True)
    sim.add_testbench(host)
    sim.run()
    if saturate:
        assert (
            truth[CounterArray.DROPS, DropReason.QUEUE_FULL, True] > 1 << 32
        )  # the high halves were exercised


def test_rejects_bad_parameters():
    assert_rejected(lambda: CounterBlock(0), "num_ports")
    assert_rejected(lambda: CounterBlock(4, width=32), "width")
    assert_rejected(lambda: CounterBlock(4, width=65), "width")
