"""Stripping packet_out and prepending packet_in, at every width, with idle cycles and backpressure."""

from __future__ import annotations

import random

import pytest
from amaranth.sim import Simulator

from hdl.realign import Prepender, Stripper
from hdl.stream import beat_bytes, frame_to_beats

WIDTHS = [1, 2, 4, 8]


def run(dut, inputs: list[tuple[bytes, dict]], outputs: int, seed: int):
    """Send (frame, extra first-beat fields) pairs; collect ``outputs`` frames with their sideband."""
    rng = random.Random(seed)
    received: list[tuple[bytes, int]] = []
    w = dut.width

    async def source(ctx):
        for frame, extra in inputs:
            for beat in frame_to_beats(frame, w):
                while rng.random() < 0.2:
                    ctx.set(dut.i.valid, 0)
                    await ctx.tick()
                payload = {
                    "beat": {"data": beat.data, "keep": beat.keep, "first": beat.first, "last": beat.last}
                }
                ctx.set(dut.i.payload, payload | extra)
                ctx.set(dut.i.valid, 1)
                await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        frame = bytearray()
        while len(received) < outputs:
            ctx.set(dut.o.ready, rng.random() < 0.7)
            _, _, valid, ready, payload = await ctx.tick().sample(dut.o.valid, dut.o.ready, dut.o.payload)
            if valid and ready:
                assert bool(payload.beat.first) == (not frame and not getattr(sink, "open", False))
                sink.open = not payload.beat.last
                frame += beat_bytes(payload.beat.data, payload.beat.keep, w)
                if payload.beat.last:
                    received.append((bytes(frame), payload.sideband))
                    frame = bytearray()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    return received


@pytest.mark.parametrize("width", WIDTHS)
def test_stripper_removes_the_header(width):
    rng = random.Random(width)
    frames = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(2, 40))) for _ in range(60)]
    frames += [b"\x00\x01", bytes(range(2 + width)), bytes(range(2 + 2 * width))]
    inputs = [(f, {"sideband": n % 200}) for n, f in enumerate(frames)]
    received = run(Stripper(width, 2, sideband=8), inputs, len(frames), seed=width)
    assert received == [(f[2:], n % 200) for n, f in enumerate(frames)]


@pytest.mark.parametrize("width", WIDTHS)
def test_prepender_inserts_only_when_asked(width):
    rng = random.Random(width)
    frames = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 40))) for _ in range(60)]
    inserts = [rng.random() < 0.5 for _ in frames]
    headers = [rng.getrandbits(24) for _ in frames]
    inputs = [
        (f, {"insert": ins, "header": h, "sideband": n % 200})
        for n, (f, ins, h) in enumerate(zip(frames, inserts, headers, strict=True))
    ]
    received = run(Prepender(width, 3, sideband=8), inputs, len(frames), seed=width)
    expected = [
        ((h.to_bytes(3, "little") if ins else b"") + f, n % 200)
        for n, (f, ins, h) in enumerate(zip(frames, inserts, headers, strict=True))
    ]
    assert received == expected
