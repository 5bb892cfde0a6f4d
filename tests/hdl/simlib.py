"""Amaranth-simulator helpers: send and receive frames on packet streams."""

from __future__ import annotations

import random

from hdl.stream import beat_bytes, frame_to_beats


async def send_frame(ctx, port, frame: bytes, width: int, rng: random.Random | None = None, idle=0.0):
    """Drive ``frame`` into stream ``port``; with ``rng``, insert idle cycles with probability ``idle``."""
    for beat in frame_to_beats(frame, width):
        while rng is not None and rng.random() < idle:
            ctx.set(port.valid, 0)
            await ctx.tick()
        ctx.set(port.payload, {"data": beat.data, "keep": beat.keep, "first": beat.first, "last": beat.last})
        ctx.set(port.valid, 1)
        await ctx.tick().until(port.ready)
    ctx.set(port.valid, 0)


async def recv_frame(ctx, port, width: int, rng: random.Random | None = None, stall=0.0) -> bytes:
    """Take one frame from stream ``port``; with ``rng``, drop ready with probability ``stall``."""
    frame = bytearray()
    while True:
        ctx.set(port.ready, rng is None or rng.random() >= stall)
        _, _, valid, ready, payload = await ctx.tick().sample(port.valid, port.ready, port.payload)
        if not (valid and ready):
            continue
        if not frame:
            assert payload.first, "first beat of a frame lacks `first`"
        frame += beat_bytes(payload.data, payload.keep, width)
        if payload.last:
            ctx.set(port.ready, 0)
            return bytes(frame)


def assert_rejected(factory, match: str) -> None:
    """``factory()`` raises ValueError matching ``match`` (and the half-built component is not reported unused)."""
    import gc
    import warnings

    import pytest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            factory()
        gc.collect()
