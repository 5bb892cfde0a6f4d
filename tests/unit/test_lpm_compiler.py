"""The LPM host compiler against the reference LPM, over its own memory image.

Every check looks up addresses in the compiled image with the same search the
engine does (``MemoryImage.lookup``), so a wrong range, pointer or action
encoding shows up as a wrong answer; tests/hdl/test_lpm_engine.py checks
that the engine agrees with this image.
"""

from __future__ import annotations

import contextlib
import copy
import random
from ipaddress import IPv4Address, IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdl.lpm.bgp_table import sample_bgp_table
from hdl.lpm.compiler import LpmCompiler, LpmTableFull, MemoryImage, build_ranges
from hdl.lpm.geometry import LpmGeometry, Region
from sim.model.lpm import ReferenceLpm
from sim.model.tables import Direct, NextHop, NullRoute, RouteAction

# Small enough that chunks, deep searches and shared covers all happen.
SMALL = LpmGeometry(direct_bits=4, slot_bits=10, action_bits=3)

actions = st.one_of(
    st.builds(NextHop, st.integers(0, 3).map(lambda i: IPv4Address(f"192.0.2.{i}")), st.integers(1, 4)),
    st.builds(Direct, st.integers(1, 4)),
    st.just(NullRoute()),
)


@st.composite
def prefixes(draw) -> IPv4Network:
    """Prefixes crowded into a few /6s so they nest and neighbour each other."""
    length = draw(st.integers(0, 32))
    top = draw(st.sampled_from([0x00000000, 0x10000000, 0x14000000, 0xF0000000]))
    low = draw(st.integers(0, (1 << 26) - 1)) if draw(st.booleans()) else draw(st.integers(0, 255)) << 18
    address = top | low
    return IPv4Network((address & ~((1 << (32 - length)) - 1) & 0xFFFFFFFF, length))


operations = st.lists(st.tuples(st.booleans(), prefixes(), actions), max_size=60)


def probe_addresses(routes) -> set[int]:
    """Every prefix's first and last address and their outside neighbours."""
    out = {0, 0xFFFFFFFF}
    for prefix in routes:
        first, last = int(prefix.network_address), int(prefix.broadcast_address)
        out.update({first, last, (first - 1) & 0xFFFFFFFF, (last + 1) & 0xFFFFFFFF})
    return out


def expected(reference: ReferenceLpm, address: int) -> RouteAction | None:
    found = reference.lookup(address)
    return None if found is None else found[1]


def assert_agrees(compiler: LpmCompiler, reference: ReferenceLpm, extra=()) -> None:
    for address in probe_addresses(dict(reference)) | set(extra):
        assert compiler.lookup(address) == expected(reference, address), IPv4Address(address)


@settings(max_examples=120, deadline=None)
@given(operations)
def test_insert_delete_sequences_match_the_reference(ops) -> None:
    compiler, reference = LpmCompiler(SMALL), ReferenceLpm()
    installed: dict[IPv4Network, RouteAction] = {}
    for is_delete, prefix, action in ops:
        if is_delete and installed:
            victim = sorted(installed, key=str)[hash(prefix) % len(installed)]
            compiler.delete(victim)
            reference.delete(victim)
            del installed[victim]
            continue
        if prefix not in installed and len(installed) >= compiler.capacity:
            continue
        try:
            compiler.insert(prefix, action)
        except LpmTableFull:
            assert len({*installed.values(), action}) > SMALL.actions
            continue
        reference.insert(prefix, action)
        installed[prefix] = action
    assert_agrees(compiler, reference)
    assert dict(compiler.routes()) == installed
    assert compiler.usage().prefixes == len(installed)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(prefixes(), actions), max_size=25), st.tuples(st.booleans(), prefixes(), actions))
def test_every_intermediate_image_answers_old_or_new(table, update) -> None:
    """Applied one write at a time, an update never shows a third answer."""
    compiler = LpmCompiler(SMALL)
    for prefix, action in table:
        with contextlib.suppress(LpmTableFull):
            compiler.insert(prefix, action)
    is_delete, prefix, action = update
    before = dict(compiler.routes())
    image = copy.deepcopy(compiler.image)
    if is_delete and before:
        writes = compiler.delete(sorted(before, key=str)[0])
    else:
        try:
            writes = compiler.insert(prefix, action)
        except LpmTableFull:
            return
    after = dict(compiler.routes())
    old, new = reference_of(before), reference_of(after)
    addresses = probe_addresses(before | after)
    for write in writes:
        image.apply([write])
        for address in addresses:
            assert image.lookup(address) in (expected(old, address), expected(new, address))
    for address in addresses:
        assert image.lookup(address) == expected(new, address)


def reference_of(routes: dict[IPv4Network, RouteAction]) -> ReferenceLpm:
    reference = ReferenceLpm()
    for prefix, action in routes.items():
        reference.insert(prefix, action)
    return reference


def nexthop(i: int, port: int = 1) -> NextHop:
    return NextHop(IPv4Address(f"198.51.100.{i}"), port)


def snapshot(compiler: LpmCompiler):
    return dict(compiler.routes()), copy.deepcopy(compiler.image), compiler.usage()


def test_build_ranges_overlays_nested_prefixes_and_merges_equal_neighbours() -> None:
    # key space of 8 bits: cover 1; [64,128) -> 2 with [96,112) -> 3; [128,192) -> 1 (same as cover)
    inner = {(64, 2): 2, (96, 4): 3, (128, 2): 1}
    assert build_ranges(1, inner, 8) == [(0, 1), (64, 2), (96, 3), (112, 2), (128, 1)]
    assert build_ranges(0, {(0, 0): 5}, 8) == [(0, 5)]


def test_prefix_capacity_is_enforced_without_changing_anything() -> None:
    compiler = LpmCompiler(SMALL, capacity=3)
    for i in range(3):
        compiler.insert(IPv4Network(f"16.{i}.0.0/16"), nexthop(1))
    before = snapshot(compiler)
    with pytest.raises(LpmTableFull, match="at most 3 prefixes"):
        compiler.insert(IPv4Network("16.9.0.0/16"), nexthop(2))
    assert snapshot(compiler) == before
    # Replacing an installed prefix's action is not a new entry.
    assert compiler.insert(IPv4Network("16.1.0.0/16"), nexthop(2))
    assert compiler.lookup(IPv4Address("16.1.2.3")) == nexthop(2)


def test_action_table_full_is_refused_without_changing_anything() -> None:
    geometry = LpmGeometry(direct_bits=4, slot_bits=10, action_bits=2)  # 3 actions
    compiler = LpmCompiler(geometry)
    for i in range(3):
        compiler.insert(IPv4Network(f"32.{i}.0.0/16"), nexthop(i))
    before = snapshot(compiler)
    with pytest.raises(LpmTableFull, match="action entries"):
        compiler.insert(IPv4Network("32.9.0.0/16"), nexthop(9))
    assert snapshot(compiler) == before
    # Freed actions are reused.
    compiler.delete(IPv4Network("32.0.0.0/16"))
    compiler.insert(IPv4Network("32.9.0.0/16"), nexthop(9))
    assert compiler.lookup(IPv4Address("32.9.1.1")) == nexthop(9)
    assert compiler.lookup(IPv4Address("32.0.1.1")) is None


def test_running_out_of_range_slots_is_refused_without_changing_anything() -> None:
    geometry = LpmGeometry(direct_bits=4, slot_bits=4, action_bits=3)  # 16 slots
    compiler = LpmCompiler(geometry, capacity=geometry.slots, overcommit=True)
    reference = ReferenceLpm()
    engine = MemoryImage(geometry)  # what the engine holds: only writes returned so far
    refused = 0
    for i in range(12):
        prefix = IPv4Network(f"64.{16 * i}.0.0/12")
        routes = dict(compiler.routes())
        try:
            engine.apply(compiler.insert(prefix, nexthop(i % 3)))
        except LpmTableFull as exc:
            assert "slots" in str(exc)
            assert dict(compiler.routes()) == routes
            refused += 1
        else:
            reference.insert(prefix, nexthop(i % 3))
        for address in probe_addresses(routes) | probe_addresses([prefix]):
            assert engine.lookup(address) == compiler.lookup(address) == expected(reference, address)
    assert refused > 0
    assert_agrees(compiler, reference)


def test_fragmented_slots_are_compacted_by_moving_chunks() -> None:
    """Small chunks scattered over every aligned window; then one chunk grows."""
    geometry = LpmGeometry(direct_bits=8, slot_bits=7, action_bits=3)  # 128 slots
    compiler = LpmCompiler(geometry, capacity=geometry.slots, overcommit=True)
    reference = ReferenceLpm()
    engine = MemoryImage(geometry)

    def insert(prefix: IPv4Network, action: RouteAction) -> None:
        engine.apply(compiler.insert(prefix, action))
        reference.insert(prefix, action)

    for i in range(28):  # one /32 per chunk: 3 ranges, 2 slots in a 4-aligned block
        insert(IPv4Network(f"{i}.0.0.1/32"), nexthop(1))
    for i in range(0, 28, 2):
        engine.apply(compiler.delete(IPv4Network(f"{i}.0.0.1/32")))
        reference.delete(IPv4Network(f"{i}.0.0.1/32"))
    for i in range(12):  # one chunk with 25 ranges: needs a free aligned 32-slot window
        insert(IPv4Network(f"200.0.{i * 4}.0/24"), nexthop(2 + i % 2))
    assert compiler.relocations > 0
    assert_agrees(compiler, reference)
    for address in probe_addresses(dict(reference)):
        assert engine.lookup(address) == expected(reference, address)


@pytest.mark.parametrize("seed", range(3))
def test_churn_at_the_guaranteed_load_is_never_refused(seed: int) -> None:
    """Random prefixes crowded into a few chunks, inserted and deleted at full load."""
    geometry = LpmGeometry(direct_bits=8, slot_bits=9, action_bits=4)
    compiler, reference = LpmCompiler(geometry), ReferenceLpm()
    rng = random.Random(seed)
    installed: list[IPv4Network] = []
    for _ in range(1500):
        if len(installed) == compiler.capacity or (installed and rng.random() < 0.4):
            victim = installed.pop(rng.randrange(len(installed)))
            compiler.delete(victim)
            reference.delete(victim)
            continue
        length = rng.choice([9, 12, 16, 20, 24, 28, 32])
        address = rng.choice([0x0A000000, 0x0B000000, 0xC0A80000]) | rng.getrandbits(24)
        prefix = IPv4Network((address >> (32 - length) << (32 - length), length))
        action = nexthop(rng.randrange(10))
        if prefix not in installed:
            installed.append(prefix)
        compiler.insert(prefix, action)  # must never raise below the guarantee
        reference.insert(prefix, action)
    assert_agrees(compiler, reference)


def test_guaranteed_capacity_holds_for_the_worst_case_layout() -> None:
    """One chunk per prefix, each a /32 (3 ranges each): the guarantee still fits."""
    geometry = LpmGeometry(direct_bits=8, slot_bits=8, action_bits=3)
    compiler = LpmCompiler(geometry)
    reference = ReferenceLpm()
    for i in range(compiler.capacity):
        prefix = IPv4Network(f"{i}.0.0.1/32")
        compiler.insert(prefix, nexthop(i % 5))
        reference.insert(prefix, nexthop(i % 5))
    assert len(compiler) == compiler.capacity == geometry.slots // 8
    assert_agrees(compiler, reference)


def test_updates_write_only_what_changes() -> None:
    compiler = LpmCompiler(SMALL)
    route = IPv4Network("20.1.2.0/24")
    writes = compiler.insert(route, nexthop(1))
    # 2 action-table words, then ranges 1 and 2 of the chunk, then the switch.
    assert len(writes) == 5
    assert writes[-1][0] >> SMALL.region_bits == Region.DIRECT
    assert compiler.insert(route, nexthop(1)) == []
    # Same range starts, new action: one in-place range word plus the new action.
    rewrites = compiler.insert(route, nexthop(2))
    assert len(rewrites) == 3
    assert all(address >> SMALL.region_bits != Region.DIRECT for address, _ in rewrites)
    assert compiler.lookup(IPv4Address("20.1.2.9")) == nexthop(2)
    assert compiler.lookup(IPv4Address("20.1.3.0")) is None
    with pytest.raises(KeyError):
        compiler.delete(IPv4Network("20.1.3.0/24"))


def test_bad_geometry_and_inputs_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="direct-table word"):
        LpmGeometry(direct_bits=16, slot_bits=22, action_bits=8)
    with pytest.raises(ValueError, match="range word"):
        LpmGeometry(direct_bits=4, slot_bits=10, action_bits=8)
    with pytest.raises(ValueError, match="capacity"):
        LpmCompiler(SMALL, capacity=SMALL.guaranteed_prefixes + 1)
    with pytest.raises(TypeError):
        LpmCompiler(SMALL).insert("10.0.0.0/8", nexthop(1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port"):
        LpmCompiler(SMALL).insert(IPv4Network("10.0.0.0/8"), Direct(512))


def test_real_table_sample_incremental_and_bulk_agree_with_the_reference() -> None:
    geometry = LpmGeometry(direct_bits=12, slot_bits=15, action_bits=6)
    table = sample_bgp_table(3000, seed=7)
    incremental, reference = LpmCompiler(geometry), ReferenceLpm()
    for prefix, action in table:
        incremental.insert(prefix, action)
        reference.insert(prefix, action)
    for prefix, _ in table[::2]:
        incremental.delete(prefix)
        reference.delete(prefix)
    assert_agrees(incremental, reference)
    bulk = LpmCompiler(geometry)
    image = MemoryImage(geometry)
    image.apply(bulk.bulk_load(dict(reference).items()))
    assert image == bulk.image
    for address in probe_addresses(dict(reference)):
        assert bulk.lookup(address) == incremental.lookup(address)
    assert bulk.usage().high_water <= incremental.usage().high_water
