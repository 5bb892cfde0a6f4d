"""A byte FIFO that hands on whole frames only."""

from __future__ import annotations

from amaranth import Array, Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .layout import BYTE_BEAT

# Bytes held in registers after the block RAM (a power of two).
_PREFETCH = 4


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
        ``depth`` can never be committed; it is dropped (see ``w_overrun``).

    Members
    -------
    w : In(stream.Signature(BYTE_BEAT))
        Bytes to store, with ordinary stream backpressure: ``w.ready`` is low while
        the FIFO is full of committed frames that the reader has yet to drain. A
        frame that alone fills the FIFO can never be committed; rather than
        deadlock, the FIFO then accepts and swallows the rest of it and drops it
        (``w_overrun``). A writer that cannot wait (the MAC receiver) must watch
        ``w.ready`` itself and ``w_abort`` a frame that lost a byte.
    w_abort : In(1)
        Discard the frame written since the last commit (no write in that cycle).
    w_overrun : Out(1)
        Pulses for one cycle when a frame ends (``last`` or ``w_abort``) that was
        overrun and has therefore been discarded.
    r : Out(stream.Signature(BYTE_BEAT))
        Committed bytes, in order.

    Latency and throughput: a frame's first byte is at ``r`` four cycles after
    its ``last`` byte was written (``r`` comes from registers, not from the block
    RAM's slow output); one byte per cycle in and out.
    """

    def __init__(self, depth: int = 2048):
        if not isinstance(depth, int) or depth < 64 or depth & (depth - 1):
            raise ValueError(f"PacketFifo depth must be a power of two >= 64, not {depth!r}")
        self._depth = depth
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
        m.submodules.storage = storage = memory.Memory(shape=BYTE_BEAT, depth=self._depth, init=[])
        wr_port = storage.write_port()
        rd_port = storage.read_port(transparent_for=())

        # Pointers carry one extra bit so that full and empty differ.
        write_ptr = Signal(bits + 1)
        commit_ptr = Signal(bits + 1)
        read_ptr = Signal(bits + 1)
        overrun = Signal()

        full = Signal()
        holds_committed = Signal()
        # The unfinished frame fills the FIFO on its own: it can never be committed.
        cannot_fit = Signal()
        m.d.comb += [
            # Full: the same address, one lap apart (an equality rather than a subtraction:
            # it is on the path to w.ready).
            full.eq((write_ptr[:bits] == read_ptr[:bits]) & (write_ptr[bits] != read_ptr[bits])),
            holds_committed.eq(commit_ptr != read_ptr),
            cannot_fit.eq(full & ~holds_committed),
            self.w.ready.eq(~full | overrun | cannot_fit),
        ]

        store = Signal()
        m.d.comb += [
            store.eq(self.w.valid & ~full & ~overrun & ~self.w_abort),
            wr_port.addr.eq(write_ptr[:bits]),
            wr_port.data.eq(self.w.payload),
            wr_port.en.eq(store),
        ]
        frame_ends = self.w.payload.last
        with m.If(self.w_abort):
            m.d.sync += [write_ptr.eq(commit_ptr), overrun.eq(0)]
            m.d.comb += self.w_overrun.eq(overrun)
        with m.Elif(self.w.valid & (overrun | cannot_fit)):
            with m.If(frame_ends):
                m.d.sync += [write_ptr.eq(commit_ptr), overrun.eq(0)]
                m.d.comb += self.w_overrun.eq(1)
            with m.Else():
                m.d.sync += overrun.eq(1)
        with m.Elif(store):
            m.d.sync += write_ptr.eq(write_ptr + 1)
            with m.If(frame_ends):
                m.d.sync += commit_ptr.eq(write_ptr + 1)

        # Read side. The block RAM's output is slow (about 6 ns on a speed-6 ECP5), so it
        # goes into a plain register with nothing in front, and from there into a small
        # register FIFO. Bytes are fetched only when that FIFO has room for everything in
        # flight, so the two pipeline stages never need to stall.
        prefetch = [
            Signal.like(self.r.payload, name=f"prefetch{k}", reset_less=True) for k in range(_PREFETCH)
        ]
        staged = Signal.like(self.r.payload, reset_less=True)
        in_memory, in_staged = Signal(), Signal()  # a fetched byte is in that stage
        queued = Signal(range(_PREFETCH + 1))
        head, tail = Signal(range(_PREFETCH)), Signal(range(_PREFETCH))
        fetch, take = Signal(), Signal()
        m.d.comb += [
            fetch.eq(holds_committed & (queued + in_memory + in_staged < _PREFETCH)),
            rd_port.addr.eq(read_ptr[:bits]),
            rd_port.en.eq(1),
            self.r.valid.eq(queued != 0),
            self.r.payload.eq(Array(prefetch)[head]),
            take.eq(self.r.valid & self.r.ready),
        ]
        m.d.sync += [staged.eq(rd_port.data), in_memory.eq(fetch), in_staged.eq(in_memory)]
        with m.If(fetch):
            m.d.sync += read_ptr.eq(read_ptr + 1)
        for k, entry in enumerate(prefetch):
            with m.If(in_staged & (tail == k)):
                m.d.sync += entry.eq(staged)
        with m.If(in_staged):
            m.d.sync += tail.eq(tail + 1)
        with m.If(take):
            m.d.sync += head.eq(head + 1)
        with m.If(in_staged & ~take):
            m.d.sync += queued.eq(queued + 1)
        with m.Elif(take & ~in_staged):
            m.d.sync += queued.eq(queued - 1)

        return m
