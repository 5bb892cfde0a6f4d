"""The whole core in the Amaranth simulator: random traffic on every port, judged by the model."""

from __future__ import annotations

import random

import pytest

from hdl.core import RouterCore
from sim.model import CPU_PORT
from tests.hdl.frames import FrameMaker, small_tables
from tests.hdl.harness import run_core


@pytest.mark.parametrize(("width", "num_ports"), [(8, 2), (4, 3), (1, 2)])
def test_core_matches_model_on_every_port(width, num_ports):
    tables = small_tables(num_ports)
    rng = random.Random(width * 10 + num_ports)
    maker = FrameMaker(tables, rng, garbage=0.3, max_payload=60)
    count = 40 if width > 1 else 20
    ports = [*range(1, num_ports + 1), CPU_PORT]
    frames = [(port, maker.frame(port)) for port in (rng.choice(ports) for _ in range(count))]
    core = RouterCore(num_ports=num_ports, width=width, max_frame=1600)
    received, counters, expected = run_core(core, tables, frames, seed=width)
    assert received == expected.outputs
    assert counters.counters == expected.model.counters
