"""The whole shared corpus through router.p4 on BMv2, compared with the reference model.

Each vector's outcome (forwarded frame byte for byte and port, packet-in
reason and ingress port, or drop reason) and every counter cell that moved
must be what the model says. Frames travel on veths; the runts a veth cannot
carry, in or out, go through BMv2's dataplane gRPC service instead. Only empty frames,
which no interface of BMv2's takes, are left out (see test_bmv2_harness.py).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from sim.bmv2 import delivery_problem, injection_problem, switch_binary
from sim.bmv2.compile import compiler_binary
from sim.bmv2.corpus import run_vectors
from sim.model.codes import DEFAULT_NUM_PORTS

from .builds import needs_build

pytestmark = [
    pytest.mark.bmv2,
    pytest.mark.network,
    pytest.mark.skipif(
        switch_binary() is None, reason="simple_switch_grpc is not on PATH (BMv2 is needed; see docs/p4.md)"
    ),
    needs_build,
]

#: BMv2 log level for the run (``trace`` logs every table hit, to debug a mismatch).
LOG_LEVEL = os.environ.get("TWINROUTER_BMV2_LOG", "info")


def _run_everywhere(vectors, build_for, run_dir):
    """Run on veths what they carry both ways, the other non-empty frames on the dataplane gRPC service."""
    on_veth = [
        v
        for v in vectors
        if injection_problem(v.frame, v.ingress_port) is None and delivery_problem(v.expected) is None
    ]
    on_grpc = [
        v
        for v in vectors
        if v not in on_veth and injection_problem(v.frame, v.ingress_port, dataplane_grpc=True) is None
    ]
    reports = []
    for dataplane_grpc, group in ((False, on_veth), (True, on_grpc)):
        reports += asyncio.run(
            run_vectors(group, build_for, run_dir, dataplane_grpc=dataplane_grpc, log_level=LOG_LEVEL)
        )
    failures = [f"{r.vector.name}: {'; '.join(r.problems)}" for r in reports if not r.passed]
    assert not failures, f"{len(failures)} of {len(reports)} vectors differ on BMv2:\n" + "\n".join(failures)
    assert len(reports) == len(on_veth) + len(on_grpc)


def test_corpus_on_default_build(corpus, router_builds, tmp_path):
    vectors = [v for v in corpus if v.tables.num_ports == DEFAULT_NUM_PORTS]
    _run_everywhere(vectors, router_builds, tmp_path)


@pytest.mark.p4c
@pytest.mark.skipif(
    compiler_binary() is None,
    reason="p4c-bm2-ss is not on PATH (routers with other port counts must be compiled; see docs/p4.md)",
)
def test_corpus_on_other_port_counts(corpus, router_builds, tmp_path):
    vectors = [v for v in corpus if v.tables.num_ports != DEFAULT_NUM_PORTS]
    _run_everywhere(vectors, router_builds, tmp_path)
