"""The generated Verilog of the router core under cocotb, on Icarus and Verilator, against the model.

Each configuration is generated and compiled once (under build/hdl-cocotb/);
a job runs groups of frames (the shared corpus, grouped by table state, or
random frames) and the model judges every output frame, its port, and the
counters (tests/hdl/cocotb_jobs.py).
"""

from __future__ import annotations

import json

import pytest

from sim.model import TableState
from tests.hdl.cocotb_jobs import run_job, soak
from tests.hdl.frames import example_tables
from tests.hdl.line_rate import FULL_LOAD, rates, ring_traffic

SIMULATORS = ["icarus", "verilator"]


def corpus_groups(corpus, ports: int):
    """The corpus vectors a core with ``ports`` front ports can run, grouped by table state."""
    groups: dict[str, tuple[TableState, list]] = {}
    for vector in corpus:
        if vector.tables.num_ports <= ports:
            key = json.dumps(vector.tables.to_json(), sort_keys=True)
            groups.setdefault(key, (vector.tables, []))[1].append((vector.ingress_port, vector.frame))
    return list(groups.values())


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_corpus_on_generated_verilog(simulator, corpus, tmp_path):
    groups = corpus_groups(corpus, 4)
    assert sum(len(frames) for _, frames in groups) >= len(corpus) - 20
    run_job(simulator, 1, 4, groups, tmp_path)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_corpus_with_eight_ports_at_width_8(simulator, corpus, tmp_path):
    """The vectors whose tables have more than four ports, on an 8-port core at the widest datapath."""
    groups = corpus_groups([v for v in corpus if v.tables.num_ports > 4], 8)
    assert sum(len(frames) for _, frames in groups) == sum(v.tables.num_ports > 4 for v in corpus) > 0
    run_job(simulator, 8, 8, groups, tmp_path)


#: Frames of the randomized soak in ``make test`` per simulator (Icarus runs it about
#: 9 times slower at width 4; the benchmark runs 1,000,000 on Verilator).
SOAK_FRAMES = {"icarus": 2_000, "verilator": 20_000}


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_soak(simulator, tmp_path):
    soak(simulator, 4, 4, SOAK_FRAMES[simulator], tmp_path)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_back_to_back_minimum_frames_at_line_rate(simulator, tmp_path):
    """Every front port at full load with 60-byte frames: every output busy every cycle."""
    tables = example_tables(4)
    (result,) = run_job(simulator, 4, 4, [(tables, ring_traffic(tables, 60, 60))], tmp_path, FULL_LOAD)
    assert rates(result, 4, 60, 4) == (1.0, 1.0)
