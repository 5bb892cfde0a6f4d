"""The LPM engine against the reference LPM, on a sample of the real BGP table.

The big runs use the engine's Verilog under Verilator (hdl/lpm/verilated.py:
100k lookups take about a second there, minutes in the Amaranth simulator);
the Amaranth simulator checks the management bus and the cycle behaviour on
a small engine.
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Network

import pytest
from amaranth.sim import Simulator

from hdl.lpm.bgp_table import sample_bgp_table
from hdl.lpm.compiler import LpmCompiler, decode_action
from hdl.lpm.engine import LpmEngine
from hdl.lpm.geometry import LpmGeometry, Region
from hdl.lpm.verilated import Barrier, LookupRecord, VerilatedLpm
from sim.model.codes import PORT_BITS
from sim.model.lpm import ReferenceLpm
from sim.model.tables import NextHop, RouteAction
from tests.hdl.simlib import assert_rejected

#: The LFE5U-25F build (docs/lpm.md): guaranteed 4,096 prefixes, holds ~14k random
#: real ones, so the tests fill it beyond the guarantee (overcommit).
GEOMETRY = LpmGeometry(direct_bits=12, slot_bits=15, action_bits=6)
CAPACITY = 12_000


def new_compiler() -> LpmCompiler:
    return LpmCompiler(GEOMETRY, capacity=CAPACITY, overcommit=True)


TABLE_PREFIXES = 10_000
LOOKUPS = 100_000


#: The engine's builds: the deep pipeline (125 MHz and more), and the shallow one the
#: board cores use, with its small memories in block RAM (hdl/boards/router.py).
PIPELINES = {"deep": {}, "shallow": {"pipeline": "shallow", "lut_ram_max_depth": 32}}


@pytest.fixture(scope="module", params=list(PIPELINES))
def engine(request) -> VerilatedLpm:
    return VerilatedLpm(GEOMETRY, **PIPELINES[request.param])


def answer(record: LookupRecord) -> RouteAction | None:
    if not record.hit:
        return None
    return decode_action(record.nhop, record.port | record.kind << PORT_BITS)


def reference_answer(reference: ReferenceLpm, address: int) -> RouteAction | None:
    found = reference.lookup(address)
    return None if found is None else found[1]


def allowed_answers(
    lookups: list[LookupRecord],
    marks: list[int],
    reference: ReferenceLpm,
    updates: list[tuple[IPv4Network, RouteAction | None]],
) -> tuple[list[set], int]:
    """The answers each lookup may give, and how many overlapped an update.

    ``reference`` holds the table before the updates; ``marks[0]`` is the
    cycle the setup was written, ``marks[k]`` the cycle update ``k`` was (its last
    write acknowledged). A
    lookup accepted at cycle ``a`` and answered at ``d`` may see table state
    ``T_j`` for any ``j`` between the updates finished before ``a`` and those
    begun before ``d``, and no other. ``reference`` ends with every update applied.
    """
    windows = []
    for record in lookups:
        first = sum(1 for m in marks if m <= record.accepted) - 1
        last = sum(1 for m in marks[:-1] if m < record.done)
        windows.append((max(first, 0), max(last, 0)))
    allowed: list[set] = [set() for _ in lookups]
    by_first = sorted(range(len(lookups)), key=lambda i: windows[i][0])
    active: list[int] = []
    cursor = 0
    for state in range(len(updates) + 1):
        while cursor < len(by_first) and windows[by_first[cursor]][0] <= state:
            active.append(by_first[cursor])
            cursor += 1
        active = [i for i in active if windows[i][1] >= state]
        for i in active:
            allowed[i].add(reference_answer(reference, lookups[i].address))
        if state < len(updates):
            prefix, action = updates[state]
            if action is None:
                reference.delete(prefix)
            else:
                reference.insert(prefix, action)
    return allowed, sum(1 for first, last in windows if last > first)


def lookup_addresses(routes, count: int, rng: random.Random) -> list[int]:
    """Half uniformly random, half at prefix edges (first, last, just outside)."""
    edges = []
    for prefix, _ in routes:
        first, last = int(prefix.network_address), int(prefix.broadcast_address)
        edges += [first, last, (first - 1) & 0xFFFFFFFF, (last + 1) & 0xFFFFFFFF]
    picked = rng.sample(edges, min(len(edges), count // 2))
    return picked + [rng.getrandbits(32) for _ in range(count - len(picked))]


def test_engine_agrees_with_reference_on_a_real_table_sample(engine: VerilatedLpm) -> None:
    rng = random.Random(2024)
    routes = sample_bgp_table(TABLE_PREFIXES, seed=11)
    compiler, reference = new_compiler(), ReferenceLpm()
    writes = []
    for prefix, action in routes:
        writes += compiler.insert(prefix, action)
        reference.insert(prefix, action)
    addresses = lookup_addresses(routes, LOOKUPS, rng)
    # Wait for the table (mark 1), then stream lookups under 30% backpressure.
    trace = engine.run([*writes, None], [Barrier(1), *addresses], ready_percent=70, seed=5)
    assert len(trace.lookups) == LOOKUPS
    hits = 0
    for record in trace.lookups:
        expected = reference_answer(reference, record.address)
        assert answer(record) == expected, f"{record}: expected {expected}"
        hits += expected is not None
    assert hits > LOOKUPS // 10  # the edge addresses hit or border real prefixes


def test_lookups_in_flight_see_the_table_before_or_after_each_update(engine: VerilatedLpm) -> None:
    """Lookups stream every cycle while routes are added, changed and deleted.

    Update ``k``'s writes are followed by a mark; the harness reports the
    cycle at which each mark was reached. A lookup accepted at cycle ``a`` and
    answered at ``d`` may see table state ``T_j`` for any ``j`` between the
    updates finished before ``a`` and those begun before ``d``, and no other.
    """
    rng = random.Random(77)
    base = sample_bgp_table(6000, seed=3)
    compiler, reference = new_compiler(), ReferenceLpm()
    setup = []
    for prefix, action in base:
        setup += compiler.insert(prefix, action)
        reference.insert(prefix, action)

    # Updates, one after another: new real prefixes, deletions, action
    # changes, and a default route that comes and goes (it touches every chunk).
    installed = dict(base)
    fresh = iter(p for p in sample_bgp_table(2000, seed=4) if p[0] not in installed)
    updates: list[tuple[IPv4Network, RouteAction | None]] = []
    for step in range(650):
        choice = rng.random()
        if step in (200, 450):
            default = IPv4Network("0.0.0.0/0")
            updates.append((default, None if default in installed else NextHop(IPv4Address("10.9.9.9"), 2)))
        elif choice < 0.45:
            updates.append(next(fresh))
        elif choice < 0.75:
            updates.append((rng.choice(list(installed)), None))
        else:
            updates.append((rng.choice(list(installed)), NextHop(IPv4Address("10.7.7.7"), 3)))
        prefix, action = updates[-1]
        if action is None:
            del installed[prefix]
        else:
            installed[prefix] = action

    mgmt = [*setup, None]
    for prefix, action in updates:
        mgmt += compiler.delete(prefix) if action is None else compiler.insert(prefix, action)
        mgmt.append(None)
    touched = [prefix for prefix, _ in updates]
    addresses = lookup_addresses([(p, None) for p in touched], 60_000, rng)
    # Lookups start once the setup is written (the first mark), then run
    # alongside the updates.
    trace = engine.run(mgmt, [Barrier(1), *addresses], ready_percent=85, seed=9)
    marks = trace.marks  # marks[0]: setup done; marks[k]: update k done
    assert len(marks) == len(updates) + 1

    allowed, in_flight = allowed_answers(trace.lookups, marks, reference, updates)
    assert in_flight > 1000, "too few lookups overlapped an update to test anything"
    for record, ok in zip(trace.lookups, allowed, strict=True):
        assert ok, f"{record} overlapped no table state"
        assert answer(record) in ok, f"{record} answered {answer(record)}, allowed {ok}"


# --- Amaranth simulator: the bus and the cycles, on a small engine ------------------

SMALL = LpmGeometry(direct_bits=8, slot_bits=6, action_bits=4)


@pytest.fixture(params=list(PIPELINES))
def options(request) -> dict:
    """The engine options of one pipeline, for the small engine's tests."""
    return PIPELINES[request.param]


def run_small(testbench, options: dict) -> None:
    dut = LpmEngine(SMALL, **options)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        await testbench(ctx, dut)

    sim.add_testbench(bench)
    sim.run()


async def mgmt_access(ctx, dut, address: int, data: int = 0, write: bool = True) -> tuple[int, int]:
    """One bus access; returns (cycles until ack, read data)."""
    ctx.set(dut.mgmt.adr, address)
    ctx.set(dut.mgmt.dat_w, data)
    ctx.set(dut.mgmt.we, write)
    ctx.set(dut.mgmt.stb, 1)
    cycles = 0
    while True:
        await ctx.tick()
        cycles += 1
        if ctx.get(dut.mgmt.ack):
            break
    value = ctx.get(dut.mgmt.dat_r)
    ctx.set(dut.mgmt.stb, 0)
    await ctx.tick()
    return cycles, value


def test_latency_throughput_backpressure_and_bus_on_a_small_engine(options: dict) -> None:
    compiler = LpmCompiler(SMALL)
    routes = [
        (IPv4Network("10.0.0.0/8"), NextHop(IPv4Address("192.0.2.1"), 1)),
        (IPv4Network("10.1.0.0/16"), NextHop(IPv4Address("192.0.2.2"), 2)),
        (IPv4Network("10.1.2.128/25"), NextHop(IPv4Address("192.0.2.3"), 3)),
    ]
    writes = [w for prefix, action in routes for w in compiler.insert(prefix, action)]
    addresses = [0x0A010280 + i * 0x10 for i in range(8)] + [0x0A000001, 0x0A010001, 0x0B000000]

    async def testbench(ctx, dut):
        latency = dut.latency
        # A read returns the geometry; a direct-table write waits out the pipeline.
        cycles, info = await mgmt_access(ctx, dut, SMALL.address(Region.INFO, 0), write=False)
        assert info == SMALL.info_word and cycles == 1
        for address, data in writes:
            cycles, _ = await mgmt_access(ctx, dut, address, data)
            fenced = address >> SMALL.region_bits == Region.DIRECT
            assert cycles == (dut.commit_latency if fenced else 1)
        # One lookup per clock: every address offered in consecutive cycles.
        ctx.set(dut.result.ready, 1)
        stream = [addresses[i % len(addresses)] for i in range(3 * dut.queue_depth)]
        stall = range(20, 20 + 2 * dut.queue_depth)  # result.ready low: the queue fills
        results, accepted_at, seen_at = [], [], []
        cycle = 0
        pending = list(stream)
        while len(results) < len(stream):
            ctx.set(dut.lookup.valid, bool(pending))
            ctx.set(dut.lookup.payload, pending[0] if pending else 0)
            ctx.set(dut.result.ready, cycle not in stall)
            _, _, ready, r_valid, r_ready, payload = await ctx.tick().sample(
                dut.lookup.ready, dut.result.valid, dut.result.ready, dut.result.payload
            )
            if pending and ready:
                pending.pop(0)
                accepted_at.append(cycle)
            if r_valid:
                seen_at.append(cycle)
            if r_valid and r_ready:
                results.append(payload)
            cycle += 1
            assert cycle < 20 * len(stream), "the engine stopped taking lookups"
        # Back to back until queue_depth lookups are outstanding, then nothing
        # until results are taken again, then one per clock.
        depth = dut.queue_depth
        assert accepted_at[:depth] == list(range(depth))
        assert accepted_at[depth] == stall.stop + 1
        assert accepted_at[depth:] == list(range(stall.stop + 1, stall.stop + 1 + len(stream) - depth))
        assert seen_at[0] == latency
        for address, result in zip(stream, results, strict=True):
            expected = compiler.lookup(address)
            got = (
                None if not result.hit else decode_action(result.nhop, result.port | result.kind << PORT_BITS)
            )
            assert got == expected, hex(address)

    run_small(testbench, options)


def test_the_commit_fence_keeps_lookups_off_reused_memory(options: dict) -> None:
    """A chunk moves to a new block, and the next update at once rewrites the
    freed one (slots), or reuses a freed action entry, while lookups that
    read the old direct word are still in flight: they must see the table
    before or after, which only the direct-table write's late
    acknowledgement (``commit_latency``) ensures."""
    old, new, other = (NextHop(IPv4Address(f"192.0.2.{i}"), i) for i in (1, 2, 3))
    scenarios = {
        # 10/8 grows from 3 to 4 ranges (new block), then 11/8 takes the freed slots.
        "slots": (
            [(IPv4Network("10.1.2.128/25"), old)],
            [(IPv4Network("10.1.2.192/26"), new), (IPv4Network("11.0.0.0/25"), old)],
            [0x0A0102C8, 0x0A010290],
        ),
        # 10/8's only route goes (its action entry is freed), then a new action takes it.
        "actions": (
            [(IPv4Network("10.1.2.128/25"), old), (IPv4Network("10.1.2.0/25"), new)],
            [(IPv4Network("10.1.2.128/25"), None), (IPv4Network("11.0.0.0/24"), other)],
            [0x0A0102C8, 0x0A010290],
        ),
    }
    for name, (setup, updates, addresses) in scenarios.items():
        compiler, reference = LpmCompiler(SMALL), ReferenceLpm()
        for prefix, action in setup:
            reference.insert(prefix, action)
        setup_writes = [w for prefix, action in setup for w in compiler.insert(prefix, action)]
        batches = [
            compiler.delete(prefix) if action is None else compiler.insert(prefix, action)
            for prefix, action in updates
        ]
        freed = {address for address, _ in setup_writes if address >> SMALL.region_bits != Region.DIRECT}
        assert freed & {address for address, _ in batches[1]}, f"{name}: nothing freed is reused"
        lookups, marks, _ = stream_small(setup_writes, batches, addresses, options)
        allowed, in_flight = allowed_answers(lookups, marks, reference, updates)
        for record, ok in zip(lookups, allowed, strict=True):
            assert answer(record) in ok, f"{name}: {record} answered {answer(record)}, allowed {ok}"
        assert in_flight > 20, f"{name}: too few lookups overlapped an update"


def stream_small(
    setup: list, batches: list[list], addresses: list[int], options: dict
) -> tuple[list[LookupRecord], list[int], list[int]]:
    """Write ``setup``, then ``batches`` back to back while a lookup (of the
    ``addresses`` in turn) is offered every cycle; the lookups, the marks (the
    cycles the setup and each batch were acknowledged, as :class:`VerilatedLpm`
    reports them) and the cycle the engine took each batch's first write."""
    dut = LpmEngine(SMALL, **options)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    marks: list[int] = []
    starts: list[int] = []
    lookups: list[LookupRecord] = []

    async def manage(ctx):
        cycle = 0
        for batch in [setup, *batches]:
            if marks:
                starts.append(cycle)
            for address, data in batch:
                cycles, _ = await mgmt_access(ctx, dut, address, data)
                cycle += cycles + 1
            marks.append(cycle - 2)  # the cycle the last ack was seen

    async def look(ctx):
        ctx.set(dut.result.ready, 1)
        accepted: list[tuple[int, int]] = []
        cycle = 0
        while len(marks) <= len(batches) or len(lookups) < len(accepted):
            offering = 0 < len(marks) <= len(batches)
            ctx.set(dut.lookup.valid, offering)
            ctx.set(dut.lookup.payload, addresses[len(accepted) % len(addresses)])
            _, _, ready, valid, result = await ctx.tick().sample(
                dut.lookup.ready, dut.result.valid, dut.result.payload
            )
            if offering and ready:
                accepted.append((addresses[len(accepted) % len(addresses)], cycle))
            if valid:
                address, at = accepted[len(lookups)]
                fields = (int(result.hit), int(result.kind), int(result.nhop), int(result.port))
                lookups.append(LookupRecord(address, at, cycle, *fields))
            cycle += 1

    sim.add_testbench(manage)
    sim.add_testbench(look)
    sim.run()
    return lookups, marks, starts


def test_a_lookup_reading_a_word_as_it_is_written_sees_the_new_word(options: dict) -> None:
    """Block RAM returns garbage for a read of the word being written (ECP5);
    the engine substitutes the written word. The direct-table word of 10/8 is
    rewritten while 10.0.0.1 is looked up every cycle: lookups that read it
    before the write answer the old route, the one reading it in the cycle
    of the write and every later one the new route."""
    old, new = NextHop(IPv4Address("192.0.2.1"), 1), NextHop(IPv4Address("192.0.2.2"), 2)
    compiler = LpmCompiler(SMALL)
    prefix = IPv4Network("10.0.0.0/8")
    setup = compiler.insert(prefix, old) + compiler.insert(IPv4Network("11.0.0.0/8"), new)
    (switch,) = compiler.insert(prefix, new)  # the new action is in use: one direct word
    assert switch[0] >> SMALL.region_bits == Region.DIRECT
    lookups, _, (start,) = stream_small(setup, [[switch]], [0x0A000001], options)
    written = start + LpmEngine.WRITE_LATENCY  # the cycle the RAM writes the word
    assert any(record.accepted < written for record in lookups)
    for record in lookups:
        assert answer(record) == (old if record.accepted < written else new), record


def test_engine_options_are_checked() -> None:
    assert_rejected(lambda: LpmEngine(SMALL, pipeline="fast"), "pipeline")
    assert_rejected(lambda: LpmEngine(SMALL, pipeline="shallow", block_ram="ecp5"), "inferred")
    assert_rejected(lambda: LpmEngine(SMALL, lut_ram_max_depth=-1), "lut_ram_max_depth")
    assert LpmEngine(SMALL, pipeline="shallow").latency == 4 * SMALL.stages + 9
    assert LpmEngine(SMALL).latency == 6 * SMALL.stages + 11
