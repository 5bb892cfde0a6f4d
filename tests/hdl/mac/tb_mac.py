"""cocotb testbench for hdl.mac.EthernetMac: GMII on both sides, a looping core in Python.

The "core" takes every frame from ``rx`` (checking first/keep/last) and sends
it back into ``tx``, so each good frame received comes out transmitted again.
Which tests run and with what traffic is chosen by pytest (tests/hdl/mac/test_mac.py).
"""

from __future__ import annotations

import os
import random
from collections import deque

import cocotb
from cocotb.clock import Clock
from cocotb.queue import Queue
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, Timer, with_timeout
from cocotbext.eth import GmiiSource

from hdl.stream import beat_bytes, frame_to_beats
from tests.hdl.mac.ethframes import (
    PREAMBLE,
    RX_COUNTERS,
    TX_COUNTERS,
    WireFrame,
    fcs,
    padded,
    unpack_counters,
)

MAX_FRAME = int(os.environ.get("MAC_MAX_FRAME", "1518"))


class CoreLoop:
    """The core side: frames out of ``rx`` go back into ``tx``; checks the beat framing."""

    def __init__(self, dut, width: int, rng: random.Random, stall: float):
        self.dut, self.width, self.rng, self.stall = dut, width, rng, stall
        self.received: list[bytes] = []
        self.to_send: deque = deque()
        self.sent_frames = 0
        self.loop_back = True
        cocotb.start_soon(self._run())

    def send(self, frame: bytes) -> None:
        self.to_send.extend(frame_to_beats(frame, self.width))

    async def _run(self):
        dut, width = self.dut, self.width
        frame = bytearray()
        tx_driven = False
        rx_ready = 0
        while True:
            await RisingEdge(dut.clk)
            if rx_ready and int(dut.rx__valid.value):
                payload = int(dut.rx__payload.value)
                data = payload & ((1 << 8 * width) - 1)
                keep = (payload >> 8 * width) & ((1 << width) - 1)
                first = (payload >> 9 * width) & 1
                last = (payload >> 9 * width + 1) & 1
                assert first == (not frame), f"beat {len(frame) // width}: first={first}"
                assert last or keep == (1 << width) - 1, f"a beat before the last has keep={keep:#x}"
                assert keep != 0 and keep & (keep + 1) == 0, f"keep {keep:#x} is not a run from byte 0"
                frame += beat_bytes(data, keep, width)
                if last:
                    self.received.append(bytes(frame))
                    if self.loop_back:
                        self.send(bytes(frame))
                    frame = bytearray()
            if tx_driven and int(dut.tx__ready.value):
                beat = self.to_send.popleft()
                self.sent_frames += beat.last
            rx_ready = int(self.rng.random() >= self.stall)
            dut.rx__ready.value = rx_ready
            tx_driven = bool(self.to_send)
            if tx_driven:
                beat = self.to_send[0]
                dut.tx__payload.value = (
                    beat.data | beat.keep << 8 * width | beat.first << 9 * width | beat.last << 9 * width + 1
                )
            dut.tx__valid.value = int(tx_driven)


class TxMonitor:
    """Records what the MAC transmits: every frame byte for byte, and the idle time between frames."""

    def __init__(self, dut):
        self.frames: Queue[tuple[bytes, bool]] = Queue()
        self.gaps: list[int] = []
        cocotb.start_soon(self._run(dut))

    async def _run(self, dut):
        idle, frame, error, seen = 0, bytearray(), False, False
        while True:
            await RisingEdge(dut.eth_tx_clk)
            if int(dut.gmii_tx__en.value):
                if not frame and seen:
                    self.gaps.append(idle)
                frame.append(int(dut.gmii_tx__data.value))
                error |= bool(int(dut.gmii_tx__er.value))
                idle = 0
            else:
                if frame:
                    self.frames.put_nowait((bytes(frame), error))
                    frame, error, seen = bytearray(), False, True
                idle += 1


class Bench:
    def __init__(self, dut, seed: int, stall: float = 0.0):
        self.dut = dut
        self.width = (len(dut.rx__payload) - 2) // 9
        rng = random.Random(seed)
        core_period = 7000 if self.width == 1 else 10000
        cocotb.start_soon(Clock(dut.eth_rx_clk, 8000, unit="ps").start())
        cocotb.start_soon(Clock(dut.eth_tx_clk, 7996, unit="ps").start())  # a different crystal
        cocotb.start_soon(Clock(dut.clk, core_period, unit="ps").start())
        self.source = GmiiSource(dut.gmii_rx__data, dut.gmii_rx__er, dut.gmii_rx__dv, dut.eth_rx_clk)
        self.core = CoreLoop(dut, self.width, rng, stall)
        self.tx: TxMonitor | None = None
        self.rng = rng

    async def reset(self):
        dut = self.dut
        dut.rx__ready.value = 0
        dut.tx__valid.value = 0
        for rst in (dut.rst, dut.eth_rx_rst, dut.eth_tx_rst):
            rst.value = 1
        await ClockCycles(dut.clk, 4)
        for rst in (dut.rst, dut.eth_rx_rst, dut.eth_tx_rst):
            rst.value = 0
        await ClockCycles(dut.clk, 4)
        self.tx = TxMonitor(dut)  # after the reset, which cuts off what an earlier test left

    async def send_all(self, frames: list[WireFrame]):
        for frame in frames:
            await self.source.send(frame.gmii())
        await self.source.wait()

    async def expect_transmitted(self, payloads: list[bytes], timeout_us: float):
        for index, payload in enumerate(payloads):
            try:
                wire, error = await with_timeout(self.tx.frames.get(), round(timeout_us), "us")
            except SimTimeoutError:
                raise AssertionError(f"frame {index} ({len(payload)} bytes) was not transmitted") from None
            assert not error, f"frame {index} sent with tx_er"
            assert wire[:8] == PREAMBLE, f"frame {index}: preamble {wire[:8].hex()}"
            body, check = wire[8:-4], wire[-4:]
            assert check == fcs(body), f"frame {index}: bad FCS on transmit"
            assert body == padded(payload), (
                f"frame {index}: sent {len(body)} bytes, expected {len(padded(payload))}"
            )

    def rx_counters(self) -> dict[str, int]:
        return unpack_counters(int(self.dut.rx_stats.value), RX_COUNTERS)

    def tx_counters(self) -> dict[str, int]:
        return unpack_counters(int(self.dut.tx_stats.value), TX_COUNTERS)


def random_payload(rng: random.Random, length: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(length))


async def run_receive_traffic(dut, frames: list[WireFrame], seed: int, stall: float):
    bench = Bench(dut, seed, stall)
    await bench.reset()
    good = [f.payload for f in frames if f.verdict(MAX_FRAME) == "frames_ok"]
    await bench.send_all(frames)
    bytes_total = sum(len(f.payload) + 30 for f in frames)
    # Store and forward: the last frame is received in full before it is sent.
    await bench.expect_transmitted(good, timeout_us=20 + (bytes_total + MAX_FRAME) * 0.008 * (1 + 3 * stall))
    await Timer(2, "us")
    assert bench.core.received == good, "the core received other frames than the good ones"
    expected = dict.fromkeys(RX_COUNTERS, 0)
    for frame in frames:
        verdict = frame.verdict(MAX_FRAME)
        if verdict != "ignored":
            expected[verdict] += 1
    assert bench.rx_counters() == expected
    assert bench.tx_counters() == {"frames": len(good), "underruns": 0}
    assert bench.tx.frames.empty(), "more frames were transmitted than received"
    return bench


@cocotb.test()
async def receive_checks(dut):
    """Good, bad-FCS, runt, oversize, rx_er and SFD-less frames, mixed, with core backpressure."""
    rng = random.Random(1)
    frames = []
    for _ in range(6):
        frames.append(WireFrame(random_payload(rng, rng.randrange(60, 200))))
    for length in (60, 61, 62, 63, 64, 65, MAX_FRAME - 4):
        frames.append(WireFrame(random_payload(rng, length)))
    frames += [
        WireFrame(random_payload(rng, 100), bad_fcs=True),
        WireFrame(random_payload(rng, 60), bad_fcs=True),
        WireFrame(random_payload(rng, 59)),  # 63 bytes: a runt with a valid FCS
        WireFrame(random_payload(rng, 10)),
        WireFrame(random_payload(rng, 1)),
        WireFrame(random_payload(rng, MAX_FRAME - 3)),  # one byte over
        WireFrame(random_payload(rng, MAX_FRAME + 200)),
        WireFrame(random_payload(rng, 80), error_at=40),
        WireFrame(random_payload(rng, 80), preamble=b"\x55" * 7 + b"\x5d"),  # no SFD
        WireFrame(random_payload(rng, 70), preamble=b"\x55\xd5"),  # short preamble: fine
        WireFrame(random_payload(rng, 70), preamble=b"\xd5"),
    ]
    rng.shuffle(frames)
    frames.insert(0, WireFrame(bytes(64)))  # zeros first: registers that never change must not stay X
    frames += [WireFrame(random_payload(rng, 64)) for _ in range(4)]  # back to back at the end
    await run_receive_traffic(dut, frames, seed=2, stall=0.3)


def sizes_from_env() -> list[int]:
    """Payload sizes from ``MAC_SIZES``, e.g. ``60-140,1510-1514`` (default: every legal size)."""
    spec = os.environ.get("MAC_SIZES", f"60-{MAX_FRAME - 4}")
    sizes = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        sizes += range(int(low), int(high or low) + 1)
    return sizes


@cocotb.test()
async def every_size_back_to_back(dut):
    """Frames of every size in ``MAC_SIZES``, back to back at the minimum gap, all good."""
    rng = random.Random(3)
    frames = [WireFrame(random_payload(rng, n)) for n in sizes_from_env()]
    bench = await run_receive_traffic(dut, frames, seed=4, stall=0.0)
    assert min(bench.tx.gaps) >= 12, f"inter-frame gap below 12: {min(bench.tx.gaps)}"


@cocotb.test()
async def transmit_pads_and_keeps_the_gap(dut):
    """Short frames from the core are padded to 60 bytes; back-to-back frames keep a 12-byte gap."""
    bench = Bench(dut, seed=5)
    await bench.reset()
    bench.core.loop_back = False
    rng = random.Random(6)
    payloads = [random_payload(rng, n) for n in (*range(1, 62), 100, 1514, 14, 200)]
    for payload in payloads:
        bench.core.send(payload)
    await bench.expect_transmitted(payloads, timeout_us=100)
    gaps = bench.tx.gaps
    assert min(gaps) >= 12, f"inter-frame gap below 12 byte times: {min(gaps)}"
    assert gaps.count(12) > len(gaps) // 2, f"frames queued back to back should leave exactly 12: {gaps}"
    assert bench.tx_counters() == {"frames": len(payloads), "underruns": 0}
