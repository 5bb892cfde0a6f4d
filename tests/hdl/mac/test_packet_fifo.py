"""PacketFifo in the Amaranth simulator, against what a frame FIFO must do.

Random frames of 1 to 80 bytes go into a 64-byte FIFO: some are aborted part
way, those longer than 63 bytes can never be committed and must be swallowed
(one ``w_overrun`` pulse each), and every other frame must come out whole, in
order, with no byte of a dropped one. The writer pauses at random; the reader
pushes back at random, or never, in which case frames must also stream at a
byte per cycle in and out, with no gap inside a frame.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from amaranth.sim import Simulator

from hdl.mac.packet_fifo import PacketFifo
from tests.hdl.simlib import assert_rejected

DEPTH = 64


@dataclass
class Frame:
    data: list[int]
    abort_after: int | None = None  # bytes written before w_abort, if aborted

    @property
    def delivered(self) -> bool:
        return self.abort_after is None and len(self.data) <= DEPTH - 1


def random_frames(rng: random.Random, count: int, aborts: bool, longest: int = 80) -> list[Frame]:
    edges = [n for n in (1, 2, 14, 60, 62, 63, 64, 65, 80) if n <= longest]
    frames = []
    for _ in range(count):
        length = rng.choice(edges) if rng.random() < 0.3 else rng.randint(1, min(longest, 70))
        data = [rng.getrandbits(8) for _ in range(length)]
        abort = rng.randint(0, length - 1) if aborts and rng.random() < 0.15 else None
        frames.append(Frame(data, abort))
    return frames


def run(frames: list[Frame], *, write_busy: float, read_busy: float, seed: int):
    dut = PacketFifo(DEPTH)
    sim = Simulator(dut)
    sim.add_clock(8e-9)
    rng = random.Random(seed)
    received: list[list[int]] = []
    log = {"overruns": 0, "write_waits": 0, "gaps": 0, "written": False}

    async def writer(ctx):
        for frame in frames:
            stop = frame.abort_after if frame.abort_after is not None else len(frame.data)
            for index in range(stop):
                ctx.set(dut.w.payload, {"data": frame.data[index], "last": index == len(frame.data) - 1})
                ctx.set(dut.w.valid, 1)
                while True:
                    _, _, ready, overrun = await ctx.tick().sample(dut.w.ready, dut.w_overrun)
                    log["overruns"] += overrun
                    if ready:
                        break
                    log["write_waits"] += 1
                ctx.set(dut.w.valid, 0)
                while rng.random() > write_busy:
                    _, _, overrun = await ctx.tick().sample(dut.w_overrun)
                    log["overruns"] += overrun
            if frame.abort_after is not None:
                ctx.set(dut.w_abort, 1)
                _, _, overrun = await ctx.tick().sample(dut.w_overrun)
                log["overruns"] += overrun
                ctx.set(dut.w_abort, 0)
        log["written"] = True

    async def reader(ctx):
        current: list[int] = []
        idle = 0
        while idle < 200:
            ready = rng.random() < read_busy
            ctx.set(dut.r.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.r.valid, dut.r.payload)
            idle = idle + 1 if log["written"] and not valid else 0
            if current and not valid and ready:
                log["gaps"] += 1  # the frame's next byte was not there
            if valid and ready:
                current.append(payload.data)
                if payload.last:
                    received.append(current)
                    current = []

    sim.add_testbench(writer)
    sim.add_testbench(reader)
    sim.run()
    return received, log


def test_committed_frames_come_out_whole_and_in_order() -> None:
    rng = random.Random(11)
    frames = random_frames(rng, 300, aborts=True)
    received, log = run(frames, write_busy=0.6, read_busy=0.6, seed=3)
    assert received == [f.data for f in frames if f.delivered]
    too_long = sum(1 for f in frames if len(f.data) > DEPTH - 1 and f.abort_after is None)
    assert too_long > 10 and log["overruns"] >= too_long
    assert log["gaps"] == 0  # once a frame starts at `r`, its bytes follow back to back


def test_a_byte_per_cycle_in_and_out() -> None:
    """Frames short enough that two and the read latency fit stream through with the
    writer never held back and no gap inside a frame."""
    rng = random.Random(12)
    frames = random_frames(rng, 300, aborts=False, longest=24)
    received, log = run(frames, write_busy=1.0, read_busy=1.0, seed=4)
    assert received == [f.data for f in frames]
    assert log["write_waits"] == 0 and log["gaps"] == 0


def test_options_are_checked() -> None:
    assert_rejected(lambda: PacketFifo(100), "power of two")
    assert_rejected(lambda: PacketFifo(32), "power of two")
