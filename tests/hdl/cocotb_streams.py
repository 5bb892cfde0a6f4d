"""Every AXI4-Stream port of the router top, driven and sampled by one coroutine per clock.

cocotbext-axi runs a coroutine (and a pause coroutine) per port and builds
each beat byte by byte in Python; with ten ports that is twenty coroutine
wake-ups and dozens of signal writes per clock, and the simulation spends
nearly all its time there. :class:`Streams` wakes up once per clock for all
ports, keeps each frame as ready-made beat integers, writes a signal only
when its value changes and reads the data only on a handshake: the same
AXI4-Stream protocol (a source holds a beat until ``tready``; idle cycles
and backpressure drawn at random per port and cycle), at several times the
speed. It also counts what the benchmarks need: cycles, beats per output,
and the cycle of every frame's first beat in and out.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field

from cocotb.handle import Immediate
from cocotb.triggers import ReadWrite, RisingEdge


def frame_beats(frame: bytes, width: int) -> list[tuple[int, int, int]]:
    """``(tdata, tkeep, tlast)`` of each beat of ``frame``; an empty frame is one beat with no byte."""
    if not frame:
        return [(0, 0, 1)]
    full = (1 << width) - 1
    beats = []
    for start in range(0, len(frame), width):
        chunk = frame[start : start + width]
        last = start + width >= len(frame)
        beats.append((int.from_bytes(chunk, "little"), (1 << len(chunk)) - 1 if last else full, int(last)))
    return beats


_DEPOSIT = 0  # the GPI's set action for an ordinary (inertial) write


class _Wire:
    """A DUT signal read and written as a plain integer, each write only when the value changes."""

    __slots__ = ("bits", "handle", "last", "mask", "raw", "wide")

    def __init__(self, handle, initial: int | None = None):
        self.handle = handle
        self.raw = handle._handle  # the GPI object: reading through it skips LogicArray conversions
        self.bits = len(handle)
        self.wide = self.bits > 32
        self.mask = (1 << self.bits) - 1  # the GPI reads 32-bit values as signed
        self.last: int | None = None
        if initial is not None:
            self.handle.set(Immediate(initial))
            self.last = initial

    def get(self) -> int:
        if self.wide:
            return int(self.raw.get_signal_val_binstr(), 2)
        return self.raw.get_signal_val_long() & self.mask

    def put(self, value: int) -> None:
        """Write ``value``; only in the ReadWrite phase, where cocotb itself writes at once.

        Straight to the GPI object (a deposit), skipping the checks and
        scheduling of ``handle.value = …``, which cost a third of the run.
        """
        if value != self.last:
            if self.wide:
                self.raw.set_signal_val_binstr(_DEPOSIT, format(value, f"0{self.bits}b"))
            else:
                self.raw.set_signal_val_int(_DEPOSIT, value)
            self.last = value


@dataclass
class _Source:
    """One input port: frames waiting, the current frame's beats, and the beat on the wires."""

    data: _Wire
    keep: _Wire
    last: _Wire
    valid: _Wire
    ready: _Wire
    frames: deque = field(default_factory=deque)
    beats: list = field(default_factory=list)
    position: int = 0
    driving: bool = False  # a beat is on the wires (AXI: held until taken)
    sent_at: list[int] = field(default_factory=list)  # cycle of each frame's first beat
    done_at: list[int] = field(default_factory=list)  # ... and of its last beat


@dataclass
class _Sink:
    """One output port: ready on the wires, the frame being received, frames done."""

    data: _Wire
    keep: _Wire
    last: _Wire
    valid: _Wire
    ready: _Wire
    current: bytearray = field(default_factory=bytearray)
    frames: list[bytes] = field(default_factory=list)
    beats: int = 0
    received_at: list[int] = field(default_factory=list)  # cycle of each frame's first beat
    finished_at: list[int] = field(default_factory=list)  # ... and of its last beat


class Streams:
    """Sources on ``rx0..rx{ports-1}`` and sinks on ``tx0..``; start :meth:`run` with ``cocotb.start_soon``.

    A source leaves its port idle in a cycle with probability ``idle``; a
    sink drops ``tready`` with probability ``stall``. With both 0 every
    port runs at one beat per clock (full offered load, no backpressure).
    """

    def __init__(self, dut, ports: int, width: int, *, rng: random.Random, idle: float, stall: float):
        self.dut = dut
        self.width = width
        self.rng = rng
        self.idle_probability = idle
        self.stall = stall
        self.cycle = 0
        self.sources = [self._source(dut, i) for i in range(ports)]
        self.sinks = [self._sink(dut, i) for i in range(ports)]

    @staticmethod
    def _source(dut, i: int) -> _Source:
        def wire(name, initial=None):
            return _Wire(getattr(dut, f"rx{i}_{name}"), initial)

        return _Source(
            wire("tdata", 0), wire("tkeep", 0), wire("tlast", 0), wire("tvalid", 0), wire("tready")
        )

    @staticmethod
    def _sink(dut, i: int) -> _Sink:
        def wire(name, initial=None):
            return _Wire(getattr(dut, f"tx{i}_{name}"), initial)

        return _Sink(wire("tdata"), wire("tkeep"), wire("tlast"), wire("tvalid"), wire("tready", 0))

    def send(self, port: int, frame: bytes) -> None:
        self.sources[port].frames.append(frame)

    def sending(self) -> bool:
        """Some source still has a frame to send or in flight."""
        return any(source.frames or source.beats for source in self.sources)

    def receiving(self) -> bool:
        """Some sink is in the middle of a frame."""
        return any(sink.current for sink in self.sinks)

    def take(self, port: int) -> list[bytes]:
        """The frames received on ``port`` so far (and forget them)."""
        frames, self.sinks[port].frames = self.sinks[port].frames, []
        return frames

    def take_timing(self) -> dict[str, list[list[int]]]:
        """Cycle stamps since the last call, per port: first and last beats in and out."""
        timing = {
            "sent_at": [source.sent_at for source in self.sources],
            "done_at": [source.done_at for source in self.sources],
            "received_at": [sink.received_at for sink in self.sinks],
            "finished_at": [sink.finished_at for sink in self.sinks],
        }
        for source in self.sources:
            source.sent_at, source.done_at = [], []
        for sink in self.sinks:
            sink.received_at, sink.finished_at = [], []
        return timing

    async def run(self) -> None:
        edge, settle = RisingEdge(self.dut.clk), ReadWrite()
        rng, idle, stall = self.rng, self.idle_probability, self.stall
        while True:
            await edge
            self.cycle += 1
            # What happened at this edge (values sampled as cocotbext-axi samples them).
            for source in self.sources:
                if source.driving and source.ready.get():
                    source.driving = False
                    if source.position == 0:
                        source.sent_at.append(self.cycle)
                    source.position += 1
                    if source.position == len(source.beats):
                        source.done_at.append(self.cycle)
                        source.beats, source.position = [], 0
            for sink in self.sinks:
                if sink.ready.last and sink.valid.get():
                    self._receive(sink)
            await settle
            for source in self.sources:
                if source.driving:
                    continue  # not taken yet: hold the beat
                if not source.beats and source.frames:
                    source.beats = frame_beats(source.frames.popleft(), self.width)
                source.driving = bool(source.beats) and not (idle and rng.random() < idle)
                if source.driving:
                    tdata, tkeep, tlast = source.beats[source.position]
                    source.data.put(tdata)
                    source.keep.put(tkeep)
                    source.last.put(tlast)
                source.valid.put(int(source.driving))
            for sink in self.sinks:
                sink.ready.put(int(not (stall and rng.random() < stall)))

    def _receive(self, sink: _Sink) -> None:
        if not sink.current:
            sink.received_at.append(self.cycle)
        sink.beats += 1
        keep = sink.keep.get()
        count = keep.bit_count()
        sink.current += sink.data.get().to_bytes(self.width, "little")[:count]
        if sink.last.get():
            sink.finished_at.append(self.cycle)
            sink.frames.append(bytes(sink.current))
            sink.current = bytearray()
