"""LPM engine figures on the real BGP table (docs/benchmarks.md, "LPM engine").

* bytes per prefix of the compiled structure for the full 512k-prefix table;
* host-side update rate (routes/s compiled into management writes) and
  writes per route, on the full table;
* the largest real-table prefix count that fits the on-chip builds for the
  LFE5U-25F and LFE5UM-45F, and those builds synthesized with yowasp
  (block RAM, LUTs, Fmax on the -6 speed grade).

``LPM_BENCH_SYNTH=0`` skips the synthesis runs (minutes each).
"""

from __future__ import annotations

import os
import random
import time

from hdl.lpm.bgp_table import first_of_bgp_table, load_bgp_table, sample_bgp_table
from hdl.lpm.compiler import LpmCompiler, LpmTableFull
from hdl.lpm.geometry import LpmGeometry
from hdl.lpm.synth import synthesize

#: Builds for the full table (memory cost only: they do not fit on chip).
FULL_TABLE_BUILDS = [LpmGeometry(16, 19, 8), LpmGeometry(14, 19, 8), LpmGeometry(16, 19, 6)]
#: The on-chip builds, by nextpnr device.
BOARD_BUILDS = {"25k": LpmGeometry(12, 15, 6), "45k": LpmGeometry(12, 16, 6)}


def full_table() -> LpmCompiler:
    table = load_bgp_table()
    print(f"RouteViews table: {len(table)} prefixes, {len({a for _, a in table})} next hops")
    kept = None
    for geometry in FULL_TABLE_BUILDS:
        compiler = LpmCompiler(geometry, capacity=geometry.slots, overcommit=True)
        start = time.monotonic()
        compiler.bulk_load(table)
        elapsed = time.monotonic() - start
        usage = compiler.usage()
        print(
            f"  {geometry}: {usage.bytes_per_prefix:.2f} bytes/prefix "
            f"({usage.bits / 8 / 1024:.0f} KiB: {usage.chunks} chunks, {usage.ranges} ranges, "
            f"{usage.high_water} slots to high water), compiled in {elapsed:.1f} s"
        )
        kept = kept or compiler
    assert kept is not None
    return kept


def update_rate(compiler: LpmCompiler) -> None:
    """Churn on the full table: withdraw real prefixes, then announce them again."""
    rng = random.Random(1)
    routes = rng.sample(list(compiler.routes()), 20_000)
    writes = 0
    start = time.monotonic()
    for prefix, _ in routes:
        writes += len(compiler.delete(prefix))
    for prefix, action in routes:
        writes += len(compiler.insert(prefix, action))
    elapsed = time.monotonic() - start
    print(
        f"  updates: {2 * len(routes) / elapsed:,.0f} routes/s (delete + insert of {len(routes)} real "
        f"prefixes on the full table), {writes / (2 * len(routes)):.1f} management writes per route"
    )


def fits(geometry: LpmGeometry, routes) -> bool:
    try:
        LpmCompiler(geometry, capacity=geometry.slots, overcommit=True).bulk_load(routes)
    except LpmTableFull:
        return False
    return True


def largest_fitting(geometry: LpmGeometry, pick) -> int:
    """Largest ``n`` (to 1%) such that ``pick(n)`` compiles into ``geometry``."""
    low, high = 0, geometry.slots
    while high - low > max(64, low // 100):
        middle = (low + high) // 2
        if fits(geometry, pick(middle)):
            low = middle
        else:
            high = middle
    return low


def board_builds() -> None:
    synth = os.environ.get("LPM_BENCH_SYNTH", "1") != "0"
    for device, geometry in BOARD_BUILDS.items():
        dense = largest_fitting(geometry, first_of_bgp_table)
        sparse = largest_fitting(geometry, lambda n: sample_bgp_table(n, seed=1))
        print(
            f"  {device} build {geometry}: holds {dense} prefixes of an address-ordered slice of the "
            f"table, {sparse} of a random sample; guaranteed for any table: {geometry.guaranteed_prefixes}"
        )
        if synth:
            start = time.monotonic()
            report = synthesize(geometry, device)
            verdict = "meets" if report.fmax_mhz >= 125 else "MISSES"
            print(
                f"    synthesized: EBR {report.ebr_used}/{report.ebr_total}, "
                f"LUT {report.luts_used}/{report.luts_total}, FF {report.ffs_used}, "
                f"Fmax {report.fmax_mhz:.1f} MHz ({verdict} 125 MHz), {time.monotonic() - start:.0f} s"
            )


def main() -> None:
    compiler = full_table()
    update_rate(compiler)
    board_builds()


if __name__ == "__main__":
    main()
