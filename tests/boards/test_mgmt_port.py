"""ManagementPort in the Amaranth simulator: EtherType split on receive, whole-frame merge on transmit."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from hdl.boards.mgmt_port import EtherTypeSplitter, FrameMerger, ManagementPort
from sim.hdl_target.mgmt_protocol import ETHERTYPE_MGMT
from tests.hdl.simlib import assert_rejected, recv_frame, send_frame


def frame(rng: random.Random, ethertype: int, length: int) -> bytes:
    body = bytes(rng.getrandbits(8) for _ in range(max(0, length - 14)))
    head = bytes(rng.getrandbits(8) for _ in range(12)) + ethertype.to_bytes(2, "big")
    return (head + body)[:length]


def mixed_frames(rng: random.Random, count: int) -> list[bytes]:
    """Management frames, other EtherTypes (one differing only in its low byte), and frames too short to have one."""
    kinds = [ETHERTYPE_MGMT, 0x0800, 0x0806, ETHERTYPE_MGMT ^ 0x01, ETHERTYPE_MGMT ^ 0x100]
    frames = [
        frame(rng, rng.choice(kinds), rng.choice([14, 15, 60, 61, 64, 100, 13, 5, 1])) for _ in range(count)
    ]
    return [*frames, frame(rng, ETHERTYPE_MGMT, 13)]  # ends one byte short of its EtherType


@pytest.mark.parametrize("width", [1, 4, 8, 16])
def test_the_port_splits_by_ethertype_and_merges_whole_frames(width):
    rng = random.Random(width)
    dut = ManagementPort(width)
    received = mixed_frames(rng, 40)
    to_channel = [f for f in received if len(f) >= 14 and f[12:14] == ETHERTYPE_MGMT.to_bytes(2, "big")]
    to_core = [f for f in received if f not in to_channel]
    from_core = [frame(rng, 0x0800, rng.choice([60, 64, 99, 200])) for _ in range(12)]
    from_channel = [frame(rng, ETHERTYPE_MGMT, rng.choice([60, 61, 90])) for _ in range(12)]
    got: dict[str, list[bytes]] = {"core": [], "channel": [], "line": []}

    def source(port, frames, port_width):
        async def bench(ctx):
            for item in frames:
                await send_frame(ctx, port, item, port_width, rng, idle=0.3)

        return bench

    def sink(port, key, port_width, count):
        async def bench(ctx):
            for _ in range(count):
                got[key].append(await recv_frame(ctx, port, port_width, rng, stall=0.3))

        return bench

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source(dut.line_rx, received, width))
    sim.add_testbench(source(dut.core_tx, from_core, width))
    sim.add_testbench(source(dut.mgmt_tx, from_channel, 1))
    sim.add_testbench(sink(dut.core_rx, "core", width, len(to_core)))
    sim.add_testbench(sink(dut.mgmt_rx, "channel", 1, len(to_channel)))
    sim.add_testbench(sink(dut.line_tx, "line", width, len(from_core) + len(from_channel)))
    sim.run()

    assert got["core"] == to_core
    assert got["channel"] == to_channel
    # Whole frames, each source in its own order, the two interleaved.
    assert [f for f in got["line"] if f in from_core] == from_core
    assert [f for f in got["line"] if f in from_channel] == from_channel
    assert len(got["line"]) == len(from_core) + len(from_channel)
    assert got["line"] != from_core + from_channel, "the merger took turns"


def test_bad_parameters_are_refused():
    assert_rejected(lambda: EtherTypeSplitter(3), "datapath width")
    assert_rejected(lambda: EtherTypeSplitter(4, ethertype=1 << 16), "16-bit")
    assert_rejected(lambda: FrameMerger(4, inputs=1), "at least 2")
