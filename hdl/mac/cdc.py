"""A stream across clock domains, with every flag in a register."""

from __future__ import annotations

from amaranth import Module
from amaranth.hdl import Cat, ResetSignal, Shape, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import AsyncFFSynchronizer, FFSynchronizer
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["StreamAsyncFifo", "gray_decode", "gray_encode"]


def gray_encode(value):
    return value ^ value[1:]


def gray_decode(value):
    """Binary from Gray code: bit ``i`` is the parity of the code's bits ``i`` and up."""
    return Cat(*(value[i:].xor() for i in range(len(value))))


class StreamAsyncFifo(wiring.Component):
    """A first-in first-out queue of stream payloads from ``w_domain`` to ``r_domain``.

    Gray-code pointers cross the domains through two-flip-flop synchronizers
    (Cummings' "style #2", as in :class:`amaranth.lib.fifo.AsyncFIFO`). Unlike
    that FIFO, whose full and empty flags are decoded from the synchronized
    pointer and feed the pointer's own increment in the same cycle, every flag
    here is a register computed a cycle ahead from registered pointers, and the
    read side ends in an output register: no path passes through a flag, an
    adder and the RAM in one cycle. That chain was the longest in the 125 MHz
    MAC domains of the LFE5U-25F router build (docs/board.md).

    Parameters
    ----------
    shape : ShapeLike
        Payload shape of both streams.
    depth : int
        Entries, a power of two of at least 4 (LUT RAM). ``w.ready`` is
        conservative by one entry, so ``depth - 1`` entries are usable.
    w_domain, r_domain : str
        Clock domains of ``w`` and ``r``.

    Members
    -------
    w : In(stream.Signature(shape))
        Written in ``w_domain``; ``w.ready`` (a register) is low while the FIFO
        may be full.
    r : Out(stream.Signature(shape))
        Read in ``r_domain``; ``r.valid`` and ``r.payload`` are registers.

    Latency: a word written in ``w_domain`` cycle ``t`` reaches ``r`` about
    6 ``r_domain`` cycles later (its pointer's Gray code a cycle after the
    write, two synchronizer stages, the decode, the fetch, the output
    register); the freed entry reaches ``w.ready`` as many ``w_domain``
    cycles after the read. Throughput: one word per cycle on either side
    while the queue is neither empty nor nearly full.

    Reset: as in :class:`amaranth.lib.fifo.AsyncFIFO`, the write domain's
    reset empties the queue (the read side follows it through an
    asynchronous-assert, synchronous-release synchronizer); a reset of the read
    domain alone drops only the word in the output register.
    """

    def __init__(self, shape, *, depth: int, w_domain: str, r_domain: str):
        if not isinstance(depth, int) or depth < 4 or depth & (depth - 1):
            raise ValueError(f"StreamAsyncFifo depth must be a power of two >= 4, not {depth!r}")
        self.depth = depth
        self._width = Shape.cast(shape).width
        self._w_domain, self._r_domain = w_domain, r_domain
        super().__init__({"w": In(stream.Signature(shape)), "r": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        bits = self.depth.bit_length() - 1
        width = bits + 1  # pointers carry one more bit, so that full and empty differ
        w, r = m.d[self._w_domain], m.d[self._r_domain]

        m.submodules.storage = storage = Memory(shape=self._width, depth=self.depth, init=[])
        write = storage.write_port(domain=self._w_domain)
        read = storage.read_port(domain="comb")
        # The read pointer and its Gray code have no reset: a reset of the read domain
        # must not move them (see the end).
        consume = Signal(width, reset_less=True)
        consume_gray = Signal(width, reset_less=True)

        # Write side. `produce`'s Gray code is taken from the register a cycle after the
        # write, so the word is in the RAM before the reader can see its pointer.
        produce = Signal(width)
        produce_gray = Signal(width)
        consume_seen_gray = Signal(width)
        consume_seen = Signal(width)  # the reader's pointer, some cycles old: never ahead
        w_ready = Signal()
        do_write = Signal()
        m.submodules.consume_cdc = FFSynchronizer(consume_gray, consume_seen_gray, o_domain=self._w_domain)
        m.d.comb += [
            do_write.eq(self.w.valid & w_ready),
            self.w.ready.eq(w_ready),
            write.addr.eq(produce[:bits]),
            write.data.eq(self.w.payload),
            write.en.eq(do_write),
        ]
        used = Signal(width)  # entries in use, as far as this side knows (before this cycle's write)
        m.d.comb += used.eq(produce - consume_seen)
        w += [
            produce.eq(produce + do_write),
            produce_gray.eq(gray_encode(produce)),
            consume_seen.eq(gray_decode(consume_seen_gray)),
            # Room for this cycle's write and the next one's.
            w_ready.eq(used <= self.depth - 2),
        ]

        # Read side: `available` says the RAM holds the word at `consume`, a cycle late
        # and never wrongly; a fetch moves it into the output register.
        produce_seen_gray = Signal(width)
        produce_seen = Signal(width)
        available = Signal()
        out_valid = Signal()
        out_payload = Signal(self._width, reset_less=True)
        fetch = Signal()
        m.submodules.produce_cdc = FFSynchronizer(produce_gray, produce_seen_gray, o_domain=self._r_domain)
        ahead = Signal(width)  # written words at and after `consume`, as far as this side knows
        m.d.comb += [
            ahead.eq(produce_seen - consume),
            fetch.eq(available & (~out_valid | self.r.ready)),
            read.addr.eq(consume[:bits]),
            self.r.valid.eq(out_valid),
            self.r.payload.eq(out_payload),
        ]
        r += [
            consume.eq(consume + fetch),
            consume_gray.eq(gray_encode(consume)),
            produce_seen.eq(gray_decode(produce_seen_gray)),
            available.eq((ahead >= 2) | ((ahead == 1) & ~fetch)),
            out_valid.eq(fetch | (out_valid & ~self.r.ready)),
        ]
        with m.If(fetch):
            r += out_payload.eq(read.data)

        # The write domain's reset empties the queue: the read pointer follows the
        # writer's while it is held.
        write_reset = Signal()
        # Held a cycle longer than `produce_seen` takes to show the reset pointer.
        m.submodules.reset_cdc = AsyncFFSynchronizer(
            ResetSignal(self._w_domain, allow_reset_less=True), write_reset, o_domain=self._r_domain, stages=4
        )
        with m.If(write_reset):
            r += [consume.eq(produce_seen), available.eq(0), out_valid.eq(0)]
        return m
