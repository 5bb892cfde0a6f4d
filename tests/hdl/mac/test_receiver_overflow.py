"""MacReceiver when its packet FIFO is full, in the Amaranth simulator.

A GMII receiver cannot wait: a frame that finds no room must be dropped whole
and counted as ``overflows``, even when the reader frees room before the frame
ends (its lost bytes must not leave a hole in a frame that is then committed);
the frames that fitted must come out intact, and the receiver must take the next
frames normally.
"""

from __future__ import annotations

from amaranth.sim import Simulator

from hdl.mac.rx import PREAMBLE_BYTE, SFD, MacReceiver
from tests.hdl.mac.ethframes import fcs

DEPTH = 128  # room for two 60-byte frames, not three
#: A frame takes 84 cycles on the wire (preamble, 60 bytes, FCS, gap): the third
#: finds the FIFO full at about cycle 190, and the reader starts during it.
READ_FROM = 200


def frame(tag: int) -> bytes:
    return bytes([tag] * 60)


def test_frames_that_find_the_fifo_full_are_dropped_and_counted() -> None:
    dut = MacReceiver(max_frame=100, fifo_depth=DEPTH)
    sim = Simulator(dut)
    sim.add_clock(8e-9)
    received: list[bytes] = []
    state = {"sent": False}

    async def send(ctx, payload: bytes) -> None:
        for byte in bytes([PREAMBLE_BYTE] * 7 + [SFD]) + payload + fcs(payload):
            ctx.set(dut.gmii.dv, 1)
            ctx.set(dut.gmii.data, byte)
            await ctx.tick()
        ctx.set(dut.gmii.dv, 0)
        await ctx.tick().repeat(12)

    async def phy(ctx):
        for tag in (1, 2, 3, 4):  # 3 finds the FIFO full; room comes back during it
            await send(ctx, frame(tag))
        await ctx.tick().repeat(20)
        assert ctx.get(dut.stats.overflows) == 1 and ctx.get(dut.stats.frames_ok) == 3
        await send(ctx, frame(5))
        await ctx.tick().repeat(100)
        state["sent"] = True

    async def reader(ctx):
        current = bytearray()
        cycle = 0
        while not state["sent"]:
            cycle += 1
            ctx.set(dut.r.ready, cycle >= READ_FROM)
            _, _, valid, ready, payload = await ctx.tick().sample(dut.r.valid, dut.r.ready, dut.r.payload)
            if valid and ready:
                current.append(payload.data)
                if payload.last:
                    received.append(bytes(current))
                    current.clear()

    sim.add_testbench(phy)
    sim.add_testbench(reader)
    sim.run()
    assert received == [frame(1), frame(2), frame(4), frame(5)]
