"""Router core figures on the generated Verilog (docs/benchmarks.md, "HDL core").

* throughput at full offered load (tests/hdl/line_rate.py): the four front
  ports each send back-to-back frames of one size, port i to port i+1's
  subnet, so no output is oversubscribed; delivered / line rate is the
  worst output's beats per cycle, counted in simulation cycles, and the
  inputs' acceptance rate is shown beside it (the core pushing back would
  show there);
* latency: one frame into an idle router, cycles from its first beat taken
  at the input to its first beat at the output (store and forward, so it
  grows with the frame);
* simulation speed of the cocotb bench on random soak traffic, frames/s on
  Verilator and Icarus;
* the 1,000,000-frame randomized soak on Verilator: random valid and
  garbage frames on every port, random backpressure on every output, every
  frame accounted for, no lockup.

Every run is judged by the reference model, as in ``make test``.
``CORE_BENCH_SOAK_FRAMES`` sets the soak's size (default 1,000,000).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from hdl.stream import beats_in
from hdl.toolchain import verilator_env
from tests.hdl.cocotb_jobs import build, run_job, soak
from tests.hdl.frames import example_tables
from tests.hdl.line_rate import FULL_LOAD, rates, ring_frame, ring_traffic

PORTS = 4
WIDTHS = (1, 4, 8)
SIZES = (60, 64, 65, 128, 256, 512, 1500, 9000)
#: Cycles of full load per frame size (at least ``MIN_FRAMES`` frames per port).
CYCLES_PER_SIZE = 16_000
MIN_FRAMES = 8
#: (simulator, width, soak frames): about 20 s each on Verilator, 10-30 s on Icarus.
SPEED_RUNS = [
    *(("verilator", width, 5000) for width in WIDTHS),
    ("icarus", 1, 500),
    ("icarus", 4, 2000),
    ("icarus", 8, 2000),
]
SOAK_WIDTH = 8
SOAK_CHUNK = 50_000


def throughput(width: int, tmp: Path) -> dict[int, tuple[float, float]]:
    """Per frame size: (worst output's delivered / line rate, worst input's acceptance rate)."""
    tables = example_tables(PORTS)
    groups = [
        (tables, ring_traffic(tables, size, max(MIN_FRAMES, CYCLES_PER_SIZE // beats_in(size, width))))
        for size in SIZES
    ]
    results = run_job("verilator", width, PORTS, groups, tmp, FULL_LOAD)
    return {size: rates(result, PORTS, size, width) for size, result in zip(SIZES, results, strict=True)}


def latency(width: int, tmp: Path) -> dict[int, int]:
    """Per frame size: cycles from the first beat in to the first beat out, idle router."""
    tables = example_tables(PORTS)
    groups = [(tables, [(1, ring_frame(tables, 1, size))]) for size in SIZES]
    results = run_job("verilator", width, PORTS, groups, tmp, FULL_LOAD)
    return {
        size: result["received_at"][1][0] - result["sent_at"][0][0]
        for size, result in zip(SIZES, results, strict=True)
    }


def sim_speed(simulator: str, width: int, frames: int, tmp: Path) -> str:
    build(simulator, width, PORTS)  # compiled before, not timed
    result = soak(simulator, width, PORTS, frames, tmp)
    return (
        f"{simulator:9} width {width}: {frames / result['wall_s']:6.0f} frames/s, "
        f"{result['cycles'] / result['wall_s']:6.0f} cycles/s ({frames} soak frames)"
    )


def long_soak(frames: int, root: Path) -> None:
    """``frames`` soak frames in jobs of ``SOAK_CHUNK`` (each its own seed, tables and accounting)."""
    start, done, seed = time.monotonic(), 0, 0
    while done < frames:
        seed += 1
        size = min(SOAK_CHUNK, frames - done)
        tmp = root / f"soak{seed}"
        tmp.mkdir()
        soak("verilator", SOAK_WIDTH, PORTS, size, tmp, seed=seed)
        done += size
        print(f"  {done} frames accounted for ({time.monotonic() - start:.0f} s)", flush=True)
    print(f"soak, Verilator, width {SOAK_WIDTH}: {done} frames, every one accounted for, no lockup")


def main() -> None:
    os.environ.update(verilator_env())
    with tempfile.TemporaryDirectory(prefix="bench-core-") as name:
        root = Path(name)

        def fresh(label: str) -> Path:
            (root / label).mkdir()
            return root / label

        print("throughput at full offered load, ports i -> i+1: delivered / line rate (input acceptance)")
        print("  bytes" + "".join(f"  width {w:<14}" for w in WIDTHS))
        table = {w: throughput(w, fresh(f"throughput{w}")) for w in WIDTHS}
        for size in SIZES:
            print(
                f"  {size:5}"
                + "".join(f"  {table[w][size][0]:.3f} ({table[w][size][1]:.3f})   " for w in WIDTHS)
            )
        print("latency, first beat in to first beat out, idle router (cycles)")
        print("  bytes" + "".join(f"  width {w:<3}" for w in WIDTHS))
        cycles = {w: latency(w, fresh(f"latency{w}")) for w in WIDTHS}
        for size in SIZES:
            print(f"  {size:5}" + "".join(f"  {cycles[w][size]:9}" for w in WIDTHS), flush=True)
        print("simulation speed (cocotb bench, soak traffic)")
        for simulator, width, frames in SPEED_RUNS:
            print("  " + sim_speed(simulator, width, frames, fresh(f"speed-{simulator}{width}")), flush=True)
        long_soak(int(os.environ.get("CORE_BENCH_SOAK_FRAMES", 1_000_000)), root)
