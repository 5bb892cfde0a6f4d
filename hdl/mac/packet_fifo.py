"""A byte FIFO that hands on whole frames only."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import Array, Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from hdl.ecp5_ram import Ecp5RegisteredRam

from .layout import BYTE_BEAT

# Bytes fetched and not yet taken at most: those in flight (the RAM's two read cycles,
# `staged`), the ring's and the output register, enough for a byte per cycle.
_PREFETCH = 6
# Registers in the ring between `staged` and the output register (a power of two, and
# at least _PREFETCH - 1).
_RING = 8
#: Depths that fit one DP16KD in its 2048 x 9 mode (read through its output register on ECP5).
_PRIMITIVE_DEPTH = 2048


class PacketFifo(wiring.Component):
    """Store-and-forward FIFO of frames (bytes with ``last``), in one clock domain.

    A frame becomes visible at ``r`` only once its ``last`` byte has been written
    (it is *committed*); until then the writer may throw it away with ``w_abort``.
    So a reader never sees part of a frame that is later dropped, and once a frame
    starts at ``r`` every further byte of it is available on consecutive cycles.

    Parameters
    ----------
    depth : int
        Capacity in bytes, a power of two of at least 64. A frame longer than
        ``depth - 1`` bytes can never be committed; it is dropped (see
        ``w_overrun``).

    Members
    -------
    w : In(stream.Signature(BYTE_BEAT))
        Bytes to store, with ordinary stream backpressure: ``w.ready`` is low while
        the FIFO is (nearly) full of committed frames that the reader has yet to
        drain. A frame that reaches ``depth - 1`` bytes unfinished can never be
        committed; rather than deadlock, the FIFO then accepts and swallows the
        rest of it and drops it
        (``w_overrun``). A writer that cannot wait (the MAC receiver) must watch
        ``w.ready`` itself and ``w_abort`` a frame that lost a byte.
    w_abort : In(1)
        Discard the frame written since the last commit (no write in that cycle).
    w_overrun : Out(1)
        Pulses for one cycle when a frame ends (``last`` or ``w_abort``) that was
        overrun and has therefore been discarded.
    r : Out(stream.Signature(BYTE_BEAT))
        Committed bytes, in order.

    Latency and throughput: a frame's first byte is at ``r`` seven cycles
    after its ``last`` byte was written (the commit seen, the block RAM read in
    two cycles, through its own output register on ECP5, a register, a ring of
    registers, the output register: ``r`` comes from registers, and the RAM's
    slow clock-to-output ends in the RAM); one byte per cycle in and out.

    ``block_ram``: ``"ecp5"`` reads a FIFO of 2048 bytes from a DP16KD
    primitive with its output register on (:mod:`hdl.ecp5_ram`);
    ``"inferred"`` uses an Amaranth memory and a register, which behaves the
    same cycle for cycle (simulation, other FPGAs, deeper FIFOs). None (the
    default) picks ``"ecp5"`` when elaborated for an ECP5 platform.
    """

    def __init__(self, depth: int = 2048, *, block_ram: str | None = None):
        if not isinstance(depth, int) or depth < 64 or depth & (depth - 1):
            raise ValueError(f"PacketFifo depth must be a power of two >= 64, not {depth!r}")
        if block_ram not in (None, "inferred", "ecp5"):
            raise ValueError(f"block_ram must be 'inferred', 'ecp5' or None, not {block_ram!r}")
        if block_ram == "ecp5" and depth != _PRIMITIVE_DEPTH:
            raise ValueError(f"a DP16KD PacketFifo is {_PRIMITIVE_DEPTH} bytes deep, not {depth}")
        self._depth = depth
        self._block_ram = block_ram
        super().__init__(
            {
                "w": In(stream.Signature(BYTE_BEAT)),
                "w_abort": In(1),
                "w_overrun": Out(1),
                "r": Out(stream.Signature(BYTE_BEAT)),
            }
        )

    @property
    def depth(self) -> int:
        return self._depth

    def elaborate(self, platform):
        m = Module()
        bits = self._depth.bit_length() - 1
        read_addr, read_data = Signal(bits), Signal(BYTE_BEAT)
        wr_port = self._storage(m, platform, read_addr, read_data)

        # Pointers carry one extra bit so that full and empty differ. Every decision
        # below is taken from registers through a few LUTs: this runs at 125 MHz on a
        # speed-6 ECP5, where each hop across a busy die costs about a nanosecond.
        write_ptr = Signal(bits + 1)
        commit_ptr = Signal(bits + 1)
        read_ptr = Signal(bits + 1)  # the next byte to fetch; fetched bytes are free
        overrun = Signal()
        room = Signal(init=1)  # a write this cycle and one next cycle both fit
        frame_bytes = Signal(bits)  # bytes of the unfinished frame stored so far
        too_long = Signal()  # frame_bytes == depth - 1: it cannot be committed any more (a register)

        m.d.sync += room.eq((write_ptr - read_ptr)[: bits + 1] <= self._depth - 2)
        m.d.comb += [
            self.w.ready.eq(room | overrun | too_long),
        ]
        store = Signal()
        m.d.comb += [
            store.eq(self.w.valid & room & ~overrun & ~too_long & ~self.w_abort),
            wr_port.addr.eq(write_ptr[:bits]),
            wr_port.data.eq(self.w.payload),
            wr_port.en.eq(store),
        ]
        frame_ends = self.w.payload.last
        with m.If(self.w_abort):
            m.d.sync += [write_ptr.eq(commit_ptr), overrun.eq(0), frame_bytes.eq(0), too_long.eq(0)]
            m.d.comb += self.w_overrun.eq(overrun)
        with m.Elif(self.w.valid & (overrun | too_long)):
            with m.If(frame_ends):
                m.d.sync += [write_ptr.eq(commit_ptr), overrun.eq(0), frame_bytes.eq(0), too_long.eq(0)]
                m.d.comb += self.w_overrun.eq(1)
            with m.Else():
                m.d.sync += overrun.eq(1)
        with m.Elif(store):
            m.d.sync += [
                write_ptr.eq(write_ptr + 1),
                frame_bytes.eq(frame_bytes + 1),
                too_long.eq(frame_bytes == self._depth - 2),
            ]
            with m.If(frame_ends):
                m.d.sync += [commit_ptr.eq(write_ptr + 1), frame_bytes.eq(0), too_long.eq(0)]

        # Read side. The block RAM's output is slow (about 6 ns on a speed-6 ECP5), so it
        # leaves the RAM through its output register, then a plain register with nothing
        # in front, then a ring of registers and the output register. Bytes are fetched
        # only while those have room for everything in flight, so the pipeline never
        # needs to stall.
        committed = Signal()  # the RAM holds a committed byte at `read_ptr` (a cycle late, never wrongly)
        pending = Signal(range(_PREFETCH + 1))  # fetched bytes not yet taken from `r`
        fetch, take = Signal(), Signal()
        ahead = Signal(bits + 1)
        m.d.comb += [
            ahead.eq(commit_ptr - read_ptr),
            fetch.eq(committed & (pending < _PREFETCH)),
            read_addr.eq(read_ptr[:bits]),
        ]
        m.d.sync += committed.eq((ahead >= 2) | ((ahead == 1) & ~fetch))
        with m.If(fetch):
            m.d.sync += read_ptr.eq(read_ptr + 1)

        staged = Signal.like(self.r.payload, reset_less=True)
        in_memory = [Signal(name=f"in_memory{k}") for k in range(_READ_LATENCY)]  # a fetch in flight
        in_staged = Signal()
        m.d.sync += [staged.eq(read_data), in_staged.eq(in_memory[-1])]
        for earlier, later in zip([fetch, *in_memory], in_memory, strict=False):
            m.d.sync += later.eq(earlier)

        # A ring of registers, then the output register. `r.ready` (which a consumer may
        # derive from `r.payload` in the same cycle) reaches only the output register's
        # load and the ring's head, never the ring's entries.
        ring = [Signal.like(self.r.payload, name=f"ring{k}", reset_less=True) for k in range(_RING)]
        head, tail = Signal(range(_RING)), Signal(range(_RING))  # a power of two: they wrap
        in_ring = Signal(range(_RING + 1))
        out_valid = Signal()
        out_payload = Signal.like(self.r.payload, reset_less=True)
        load = Signal()
        m.d.comb += [
            self.r.valid.eq(out_valid),
            self.r.payload.eq(out_payload),
            take.eq(self.r.valid & self.r.ready),
            load.eq((in_ring != 0) & (~out_valid | self.r.ready)),
        ]
        for k, entry in enumerate(ring):
            with m.If(in_staged & (tail == k)):
                m.d.sync += entry.eq(staged)
        with m.If(in_staged):
            m.d.sync += tail.eq(tail + 1)
        with m.If(load):
            m.d.sync += [out_payload.eq(Array(ring)[head]), head.eq(head + 1)]
        m.d.sync += [
            out_valid.eq(load | (out_valid & ~self.r.ready)),
            in_ring.eq(in_ring + in_staged - load),
            pending.eq(pending + fetch - take),
        ]
        return m

    def _storage(self, m: Module, platform, read_addr, read_data):
        """The RAM: ``read_data`` is the byte at ``read_addr`` ``_READ_LATENCY`` cycles
        later. Returns the write side (``addr``, ``data``, ``en``)."""
        bits = len(read_addr)
        write = _WritePort(addr=Signal(bits, name="w_addr"), data=Signal(BYTE_BEAT, name="w_data"),
                           en=Signal(name="w_en"))  # fmt: skip
        if (self._block_ram or _block_ram_for(platform, self._depth)) == "ecp5":
            m.submodules.storage = ram = Ecp5RegisteredRam(BYTE_BEAT.size, self._depth)
            m.d.comb += [
                ram.raddr.eq(read_addr),
                read_data.eq(ram.rdata),
                ram.waddr.eq(write.addr),
                ram.wdata.eq(write.data),
                ram.wen.eq(write.en),
            ]
            return write
        m.submodules.storage = storage = memory.Memory(shape=BYTE_BEAT, depth=self._depth, init=[])
        port = storage.write_port()
        read = storage.read_port(transparent_for=())
        m.d.comb += [port.addr.eq(write.addr), port.data.eq(write.data), port.en.eq(write.en)]
        m.d.comb += read.addr.eq(read_addr)
        # The primitive's output register.
        m.d.sync += read_data.eq(read.data)
        return write


@dataclass(frozen=True)
class _WritePort:
    addr: Signal
    data: Signal
    en: Signal


#: Cycles from a read address to its byte (either RAM).
_READ_LATENCY = 2


def _block_ram_for(platform, depth: int) -> str:
    # Imported here: amaranth.vendor pulls in every vendor's platform code.
    from amaranth.vendor import LatticeECP5Platform

    return "ecp5" if isinstance(platform, LatticeECP5Platform) and depth == _PRIMITIVE_DEPTH else "inferred"
