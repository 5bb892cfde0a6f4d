"""The hash table: lookups against a dict while the management bus inserts, updates and deletes."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from hdl.exact import ExactCommand, ExactMatchTable, ExactReg, ExactStatus
from hdl.simbus import AmaranthSimBus
from tests.hdl.simlib import assert_rejected


async def command(bus, cmd: ExactCommand, key: int, value: int = 0) -> ExactStatus:
    await bus.write(ExactReg.KEY, key)
    await bus.write(ExactReg.VALUE_LO, value & 0xFFFFFFFF)
    await bus.write(ExactReg.VALUE_HI, value >> 32)
    await bus.write(ExactReg.COMMAND, cmd)
    return ExactStatus(await bus.read(ExactReg.STATUS))


#: (rows, slots) of 32 entries each. Either holds at least half of them before the
#: third refused insert (31 and 24 with this seed).
SHAPES = {"two slots a row": (8, 2), "one slot a row": (16, 1)}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_table_fills_updates_deletes_and_looks_up_every_clock(shape: str):
    rows, slots = SHAPES[shape]
    rng = random.Random(5)
    dut = ExactMatchTable(value_width=48, rows=rows, slots=slots)
    truth: dict[int, int] = {}
    stable_keys = [rng.getrandbits(32) for _ in range(4)]
    log = {}

    async def manage(ctx):
        bus = AmaranthSimBus(ctx, dut.mgmt)
        assert await bus.read(ExactReg.CAPACITY) == 32
        for key in stable_keys:
            assert await command(bus, ExactCommand.INSERT, key, key & 0xFFFF) == ExactStatus.OK
            truth[key] = key & 0xFFFF
        log["ready"] = True
        # Fill until the table refuses: every accepted key must be found, none lost.
        refused = 0
        while refused < 3:
            key, value = rng.getrandbits(32), rng.getrandbits(48)
            status = await command(bus, ExactCommand.INSERT, key, value)
            if status == ExactStatus.FULL:
                refused += 1
                assert await command(bus, ExactCommand.FIND, key) == ExactStatus.NOT_FOUND
            else:
                assert status == ExactStatus.OK
                truth[key] = value
        log["filled"] = len(truth)
        assert await bus.read(ExactReg.USED) == len(truth)
        for key in list(truth)[4:]:
            assert await command(bus, ExactCommand.FIND, key) == ExactStatus.OK
            found = await bus.read(ExactReg.FOUND_LO) | await bus.read(ExactReg.FOUND_HI) << 32
            assert found == truth[key]
            if rng.random() < 0.5:
                assert await command(bus, ExactCommand.DELETE, key) == ExactStatus.OK
                del truth[key]
            else:
                truth[key] = rng.getrandbits(48)
                assert await command(bus, ExactCommand.INSERT, key, truth[key]) == ExactStatus.OK
        assert await command(bus, ExactCommand.DELETE, 12345) == ExactStatus.NOT_FOUND
        assert await command(bus, 0, 1) == ExactStatus.BAD_COMMAND
        assert await bus.read(ExactReg.USED) == len(truth)
        log["done"] = True

    async def lookups(ctx):
        # One lookup every clock, throughout: the stable keys must always hit.
        ctx.set(dut.result.ready, 1)
        ctx.set(dut.lookup.valid, 1)
        pending = []
        checked = 0
        while "done" not in log or pending:
            key = rng.choice(stable_keys) if "ready" in log and "done" not in log else None
            ctx.set(dut.lookup.valid, key is not None)
            ctx.set(dut.lookup.payload, key or 0)
            _, _, ready, valid, result = await ctx.tick().sample(
                dut.lookup.ready, dut.result.valid, dut.result.payload
            )
            if valid:
                expected = pending.pop(0)
                assert result.hit and result.value == truth[expected]
                checked += 1
            if key is not None:
                assert ready
                pending.append(key)
        log["checked"] = checked

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(manage)
    sim.add_testbench(lookups)
    sim.run()
    assert log["filled"] >= 16
    assert log["checked"] > 500


def test_lookups_match_contents_under_backpressure():
    rng = random.Random(6)
    dut = ExactMatchTable(value_width=8, rows=16, slots=2)
    present = {rng.getrandbits(32): rng.getrandbits(8) for _ in range(20)}
    probes = [rng.choice(list(present)) if rng.random() < 0.6 else rng.getrandbits(32) for _ in range(300)]
    answers = []

    async def manage(ctx):
        bus = AmaranthSimBus(ctx, dut.mgmt)
        for key, value in present.items():
            assert await command(bus, ExactCommand.INSERT, key, value) == ExactStatus.OK
        for key in probes:
            ctx.set(dut.lookup.payload, key)
            ctx.set(dut.lookup.valid, 1)
            await ctx.tick().until(dut.lookup.ready)
        ctx.set(dut.lookup.valid, 0)

    async def sink(ctx):
        while len(answers) < len(probes):
            ctx.set(dut.result.ready, rng.random() < 0.5)
            _, _, valid, ready, result = await ctx.tick().sample(
                dut.result.valid, dut.result.ready, dut.result.payload
            )
            if valid and ready:
                answers.append((result.hit, result.value))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(manage, background=True)
    sim.add_testbench(sink)
    sim.run()
    expected = [(1, present[k]) if k in present else (0,) for k in probes]
    assert [a if a[0] else (0,) for a in answers] == expected


def test_parameters_are_checked():
    assert_rejected(lambda: ExactMatchTable(value_width=8, rows=12), "rows")
    assert_rejected(lambda: ExactMatchTable(value_width=80, rows=16), "value_width")
