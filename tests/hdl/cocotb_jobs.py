"""Runs jobs of frames through the generated Verilog of the router core under cocotb; the model judges.

Each configuration (simulator, width, ports) is generated and compiled once
under build/hdl-cocotb/ (and reused by later processes); Icarus and Verilator
get their own Verilog forms of one RTLIL design (tests/hdl/router_verilog.py). A job
is a list of groups of ``(tables, [(port number, frame)])``; the cocotb
bench (tests/hdl/cocotb_router.py) sends every group's frames on their ports
at once and reports what came out, the counters and when each frame's first
and last beats passed. Used by tests/hdl/test_cocotb_core.py and
tests/bench/bench_core.py.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import random
import shutil
from collections import Counter as Multiset
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from hdl.core import RouterCore
from hdl.lpm.engine import LpmEngine
from hdl.lpm.geometry import LpmGeometry
from sim.model import CPU_PORT, Counters, DropReason, Forward, Punt, ReferencePipeline, TableState
from tests.hdl.cocotb_router import counters_json
from tests.hdl.frames import FrameMaker, example_tables
from tests.hdl.router_verilog import TOP, amaranth_verilog, netlist_verilog, router_rtlil

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "hdl-cocotb"
#: A small LPM geometry: a /0 route is 256 direct-table writes instead of 65536.
LPM = {"direct_bits": 8, "slot_bits": 12}


def make_core(width: int, ports: int) -> RouterCore:
    return RouterCore(num_ports=ports, width=width, max_frame=9216, lpm=lambda: LpmEngine(LpmGeometry(**LPM)))


VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]
#: Make variables for the Verilator build (the runner runs make itself): the wheel's
#: verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks split models; -O1
#: because the C++ compiler would spend minutes on -O2 for little gain here.
VERILATOR_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1"

_built: dict[tuple[str, int, int], tuple[Any, Path]] = {}


def sources_digest() -> str:
    """A hash of the HDL sources (and of this file), so a changed pipeline is rebuilt, never reused."""
    sources = [*(ROOT / "hdl").glob("*.py"), *(ROOT / "hdl" / "lpm").glob("*.py")]
    sources += [
        ROOT / "sim" / "model" / "codes.py",
        Path(__file__),
        Path(__file__).with_name("router_verilog.py"),
    ]
    digest = hashlib.sha256()
    for path in sorted(sources):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _remove_stale(prefix: str, digest: str) -> None:
    """Remove the builds and sources named ``prefix`` or ``prefix-…`` of other HDL versions."""
    for path in BUILD.glob(f"{prefix}*"):
        rest = path.name[len(prefix) :]
        if (not rest or rest[0] in ".-") and digest not in rest:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def build(simulator: str, width: int, ports: int) -> tuple[Any, Path]:
    """Compile one configuration (reused while the HDL is unchanged); return its runner and directory."""
    key = (simulator, width, ports)
    if key not in _built:
        BUILD.mkdir(parents=True, exist_ok=True)
        # One build at a time per configuration (pytest-xdist workers share build/).
        with _locked(BUILD / f"lock-{simulator}-w{width}-p{ports}"):
            _built[key] = _build(simulator, width, ports)
    return _built[key]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (named ``lock-…``, which :func:`_remove_stale` never matches)."""
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build(simulator: str, width: int, ports: int) -> tuple[Any, Path]:
    digest = sources_digest()
    directory = BUILD / f"{simulator}-w{width}-p{ports}-{digest}"
    _remove_stale(f"{simulator}-w{width}-p{ports}", digest)
    _remove_stale(f"router-w{width}-p{ports}", digest)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"router-w{width}-p{ports}-{digest}"

    def design() -> str:  # RTLIL, shared by both simulators' sources (tests/hdl/router_verilog.py)
        with _locked(BUILD / f"lock-rtlil-w{width}-p{ports}"):
            return _cached(BUILD / f"{name}.il", lambda: router_rtlil(make_core(width, ports))).read_text()

    if simulator == "icarus":
        source, args = _cached(BUILD / f"{name}.icarus.v", lambda: netlist_verilog(design())), []
    else:
        source, args = _cached(BUILD / f"{name}.v", lambda: amaranth_verilog(design())), VERILATOR_ARGS
    return compile_for_cocotb(simulator, [source], TOP, directory, args), directory


def _cached(path: Path, make) -> Path:
    """``path``, written with ``make()`` unless a run of this HDL version already wrote it."""
    if not path.exists():
        staging = path.with_name(path.name + ".tmp")
        staging.write_text(make())
        staging.rename(path)  # never a half-written file for a later run
    return path


def compile_for_cocotb(simulator: str, sources: list[Path], toplevel: str, directory: Path, args: list[str]):
    """Compile ``sources`` for cocotb into ``directory`` (kept: a later run reuses it); returns the runner."""
    with pytest.MonkeyPatch.context() as patch:
        if simulator == "verilator":
            patch.setenv("MAKEFLAGS", VERILATOR_MAKEFLAGS)
        runner = get_runner(simulator)
        runner.build(
            sources=sources,
            hdl_toplevel=toplevel,
            build_dir=directory,
            build_args=args,
            timescale=("1ns", "1ps"),
            always=False,
        )
    return runner


def index_of(ports: int, number: int) -> int:
    """The Verilog port index of P4 port ``number`` (the CPU port is last)."""
    return ports if number == CPU_PORT else number - 1


@dataclass(frozen=True)
class Traffic:
    """How the bench drives the ports: idle and backpressure probabilities, seed, lockup timeout."""

    idle: float = 0.2
    stall: float = 0.2
    seed: int = 1
    timeout_cycles: int = 200_000


def run_job(
    simulator: str,
    width: int,
    ports: int,
    groups,
    tmp_path: Path,
    traffic: Traffic = Traffic(),
    *,
    soak=False,
) -> list[dict]:
    """Run ``groups`` of (tables, [(port number, frame)]) on the Verilog; compare with the model.

    With ``soak``, output queues may tail drop (QUEUE_FULL): every frame must
    then be delivered as the model says or counted as a queue drop, and the
    counters must add up (forwarded + punted + dropped = received = sent).
    Returns the bench's results per group (outputs, counters, cycle stamps).
    """
    job_groups, expected = [], []
    totals = Counters()
    for tables, frames in groups:
        model = ReferencePipeline(tables)
        outputs: dict[int, Multiset] = {i: Multiset() for i in range(ports + 1)}
        for number, frame in frames:
            outcome = model.process(frame, number)
            if isinstance(outcome, Forward):
                outputs[index_of(ports, outcome.port)][outcome.frame.hex()] += 1
            elif isinstance(outcome, Punt):
                outputs[ports][outcome.packet_in_bytes().hex()] += 1
        for name in ("rx_port", "tx_port", "drops", "punts"):
            for key, value in getattr(model.counters, name).items():
                total = getattr(totals, name).setdefault(key, type(value)())
                total.packets += value.packets
                total.bytes += value.bytes
        expected.append((outputs, counters_json(totals)))
        job_groups.append(
            {
                "tables": tables.to_json(),
                "frames": [[index_of(ports, n), f.hex()] for n, f in frames],
                "expect": None if soak else [sum(outputs[i].values()) for i in range(ports + 1)],
            }
        )
    job = {"ports": ports, "lpm": LPM, **traffic.__dict__, "groups": job_groups}
    (tmp_path / "job.json").write_text(json.dumps(job))
    runner, directory = build(simulator, width, ports)
    results_xml = runner.test(
        hdl_toplevel="router_top",
        test_module="tests.hdl.cocotb_router",
        build_dir=directory,
        test_dir=tmp_path,
        extra_env={"ROUTER_JOB": str(tmp_path / "job.json"), "ROUTER_RESULT": str(tmp_path / "result.json")},
        results_xml=str(tmp_path / "results.xml"),
        timescale=("1ns", "1ps"),
    )
    _, failed = get_results(Path(results_xml))
    assert failed == 0, f"cocotb bench failed (log in {tmp_path})"
    results = json.loads((tmp_path / "result.json").read_text())
    for (outputs, counters), result in zip(expected, results, strict=True):
        got = {int(i): Multiset(frames) for i, frames in result["outputs"].items()}
        if soak:
            check_accounting(got, outputs, result["counters"], counters, ports)
        else:
            assert got == outputs
            assert result["counters"] == counters
    return results


def check_accounting(got, outputs, counters, model_counters, ports: int) -> None:
    """Delivered frames are model outputs; what was not delivered is a counted queue drop."""
    queue_full = int(DropReason.QUEUE_FULL)
    for index in range(ports + 1):
        assert not got[index] - outputs[index], f"port index {index}: frames the model never sent there"
    delivered = sum(sum(g.values()) for g in got.values())
    expected_out = sum(sum(o.values()) for o in outputs.values())
    drops = {reason: packets for reason, packets, _ in counters["drops"]}
    model_drops = {reason: packets for reason, packets, _ in model_counters["drops"]}
    assert drops.pop(queue_full, 0) == expected_out - delivered
    assert drops == model_drops
    assert counters["rx_port"] == model_counters["rx_port"]
    received = sum(packets for _, packets, _ in counters["rx_port"])
    sent_out = sum(packets for _, packets, _ in counters["tx_port"])
    assert sent_out == delivered
    assert received == sent_out + sum(drops.values()) + expected_out - delivered


def soak_traffic(ports: int, frames: int, seed: int) -> tuple[TableState, list[tuple[int, bytes]]]:
    """Random valid and garbage frames (30 % corrupted), each on a random port, CPU port included."""
    tables = example_tables(ports)
    maker = FrameMaker(tables, random.Random(seed), garbage=0.3, max_payload=300)
    rng = random.Random(seed + 1)
    numbers = [*range(1, ports + 1), CPU_PORT]
    return tables, [(n, maker.frame(n)) for n in (rng.choice(numbers) for _ in range(frames))]


def soak(
    simulator: str, width: int, ports: int, frames: int, tmp_path: Path, *, seed: int = 1, idle=0.3, stall=0.4
) -> dict:
    """Random frames on every port at once, random backpressure on every output; returns the result."""
    tables, traffic = soak_traffic(ports, frames, seed)
    settings = Traffic(idle=idle, stall=stall, seed=seed)
    (result,) = run_job(simulator, width, ports, [(tables, traffic)], tmp_path, settings, soak=True)
    return result
