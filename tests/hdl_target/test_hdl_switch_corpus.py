"""The shared corpus driven through P4Runtime into the HDL switch, frames over veths, against the model.

``twinrouter hdl-switch`` (the Verilated router, default 4-port build) runs
with its front ports bound to veths in a private namespace and serves
P4Runtime; the runner BMv2's corpus test uses (:mod:`sim.p4rt_harness`)
installs each table state through P4Runtime Writes, sends every frame on a
veth (or as a P4Runtime PacketOut for the CPU port), and checks the exact
outcome and every counter cell that moved, read back through P4Runtime.

A veth carries no frame shorter than the 14-byte Ethernet header, in or out,
and a PacketOut no frame shorter than its 2-byte header: those few runts are
left out here; the cocotb run of the core on the generated Verilog
(tests/hdl/test_cocotb_core.py) checks each of them bit for bit.
"""

from __future__ import annotations

import asyncio

import pytest

from sim.hdl_target.verilated_router import RouterBuild, build_binary
from sim.model.codes import CPU_PORT, ETH_HEADER_LEN, PACKET_OUT_HEADER_LEN
from sim.model.outcome import Forward
from sim.p4rt_harness.corpus import run_vectors, veth_problem
from sim.p4rt_harness.hdl import HdlRouter
from tests.hdl.test_cocotb_core import corpus_groups
from tests.needs import needs_p4info

pytestmark = [pytest.mark.network, needs_p4info]

BUILD = RouterBuild()  # the build hdl-switch runs by default


def _vectors(corpus):
    return [v for v in corpus if v.tables.num_ports == BUILD.num_ports]


def _is_runt(vector) -> bool:
    """A frame shorter than its way in can carry, or a forwarded frame shorter than an Ethernet header."""
    smallest = PACKET_OUT_HEADER_LEN if vector.ingress_port == CPU_PORT else ETH_HEADER_LEN
    runt_out = isinstance(vector.expected, Forward) and len(vector.expected.frame) < ETH_HEADER_LEN
    return len(vector.frame) < smallest or runt_out


def test_only_runts_are_left_out_and_the_cocotb_corpus_run_has_them(corpus):
    left_out = [v for v in _vectors(corpus) if veth_problem(v) is not None]
    assert all(_is_runt(v) for v in left_out), [v.name for v in left_out]
    assert len(left_out) < len(_vectors(corpus)) // 10, "nearly all the corpus runs over veths"
    on_cocotb = {
        (port, frame) for _, frames in corpus_groups(corpus, BUILD.num_ports) for port, frame in frames
    }
    assert all((v.ingress_port, v.frame) in on_cocotb for v in left_out)


def test_corpus_through_p4runtime_and_veths(corpus, tmp_path):
    vectors = [v for v in _vectors(corpus) if veth_problem(v) is None]
    binary = build_binary(BUILD)  # cached after the first build of these HDL sources

    def start(num_ports: int):
        assert num_ports == BUILD.num_ports
        return HdlRouter.running(tmp_path, BUILD, binary)

    reports = asyncio.run(run_vectors(vectors, start, "the HDL switch"))
    failures = [f"{r.vector.name}: {'; '.join(r.problems)}" for r in reports if not r.passed]
    assert not failures, f"{len(failures)} of {len(reports)} vectors differ on the HDL switch:\n" + "\n".join(
        failures
    )
    assert len(reports) == len(vectors)
