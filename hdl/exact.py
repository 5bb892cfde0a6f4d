"""Exact-match tables (``local_ip``, ``arp``): a two-way set-associative hash table.

Each way is one memory whose row holds ``slots`` entries (valid, key, value);
way ``w`` indexes its rows with its own H3 hash of the key. A key lives in
one of ``2 * slots`` places, so a lookup reads one row of each way and
compares them all in parallel: one lookup per clock. The hardware places
entries itself (first free slot of the two candidate rows), so the host only
says what to insert or delete and reads back whether it fitted.
"""

import enum
import random

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .mgmt import MgmtSignature
from .regs import RegisterPort

WAYS = 2


class ExactReg(enum.IntEnum):
    """Word addresses of an exact-match table on the management bus."""

    KEY = 0
    VALUE_LO = 1  # value bits 0..31
    VALUE_HI = 2  # value bits 32..63
    COMMAND = 3  # write an ExactCommand; acknowledged when done
    STATUS = 4  # ExactStatus of the last command
    FOUND_LO = 5  # value found by FIND
    FOUND_HI = 6
    CAPACITY = 7  # entries the memories hold
    USED = 8  # entries in use


class ExactCommand(enum.IntEnum):
    INSERT = 1  # add the staged key/value, or update the key's value
    DELETE = 2
    FIND = 3


class ExactStatus(enum.IntEnum):
    OK = 0
    FULL = 1  # both candidate rows are full: the entry was not added
    NOT_FOUND = 2
    BAD_COMMAND = 3


def h3_masks(way: int, row_bits: int, key_width: int) -> list[int]:
    """The fixed random masks of way ``way``'s H3 hash: row bit ``i`` is parity(key & masks[i])."""
    rng = random.Random(0x7A11 + way)
    return [rng.getrandbits(key_width) | 1 << (i % key_width) for i in range(row_bits)]


def h3_hash(key, masks: list[int]):
    return Cat(*((key & mask).xor() for mask in masks))


class ExactMatchTable(wiring.Component):
    """Exact match of a ``key_width``-bit key to a ``value_width``-bit value.

    Parameters
    ----------
    key_width, value_width : int
    rows : int
        Rows per way (a power of two); capacity is ``2 * rows * slots`` entries,
        though an insert is refused (``FULL``) once both of a key's rows are full.
    slots : int
        Entries per row.

    Members
    -------
    lookup : In(stream of key)
    result : Out(stream of {hit, value}), one per lookup, in order.
    mgmt : In(MgmtSignature(4)), the registers of :class:`ExactReg`.

    Latency: a lookup accepted in cycle ``t`` is answered in cycle ``t + 2``.
    Backpressure: the pipeline (memory read enables included) advances only
    while ``result`` is empty or taken; ``lookup.ready`` is that condition.
    Updates: an entry is one slot of one row, and a row is written whole in
    one clock, so a lookup reads either the old or the new row. A management
    command never stalls lookups (the memories have separate lookup ports).
    """

    def __init__(self, *, key_width: int = 32, value_width: int, rows: int, slots: int = 2):
        if not isinstance(key_width, int) or not 1 <= key_width <= 32:
            raise ValueError(f"key_width must be 1..32, not {key_width!r}")
        if not isinstance(value_width, int) or not 0 <= value_width <= 64:
            raise ValueError(f"value_width must be 0..64, not {value_width!r}")
        if not isinstance(rows, int) or rows < 2 or rows & (rows - 1):
            raise ValueError(f"rows must be a power of two >= 2, not {rows!r}")
        if not isinstance(slots, int) or not 1 <= slots <= 8:
            raise ValueError(f"slots must be 1..8, not {slots!r}")
        self.key_width = key_width
        self.value_width = value_width
        self.rows = rows
        self.slots = slots
        self.entry_layout = data.StructLayout({"valid": 1, "key": key_width, "value": value_width})
        self.row_layout = data.ArrayLayout(self.entry_layout, slots)
        self.result_layout = data.StructLayout({"hit": 1, "value": value_width})
        super().__init__(
            {
                "lookup": In(stream.Signature(key_width)),
                "result": Out(stream.Signature(self.result_layout)),
                "mgmt": In(MgmtSignature(4)),
            }
        )

    @property
    def capacity(self) -> int:
        return WAYS * self.rows * self.slots

    def _hash(self, way: int, key):
        return h3_hash(key, h3_masks(way, self.rows.bit_length() - 1, self.key_width))

    def elaborate(self, platform):
        m = Module()
        memories = []
        for way in range(WAYS):
            memory = Memory(shape=self.row_layout, depth=self.rows, init=[])
            m.submodules[f"way{way}"] = memory
            memories.append(memory)
        self._lookup_pipeline(m, memories)
        self._management(m, memories)
        return m

    def _lookup_pipeline(self, m, memories):
        advance = Signal()
        m.d.comb += [advance.eq(~self.result.valid | self.result.ready), self.lookup.ready.eq(advance)]
        rows = []
        for way, memory in enumerate(memories):
            port = memory.read_port()
            m.d.comb += [port.addr.eq(self._hash(way, self.lookup.payload)), port.en.eq(advance)]
            rows.append(port.data)
        key = Signal(self.key_width)
        valid = Signal()
        with m.If(advance):
            m.d.sync += [key.eq(self.lookup.payload), valid.eq(self.lookup.valid)]
            m.d.sync += [self.result.valid.eq(valid), self.result.payload.hit.eq(0)]
            for row in rows:
                for entry in row:
                    with m.If(entry.valid & (entry.key == key)):
                        m.d.sync += [self.result.payload.hit.eq(1), self.result.payload.value.eq(entry.value)]

    def _management(self, m, memories):
        port = RegisterPort(self.mgmt)
        port.elaborate(m)
        bus = self.mgmt
        key = Signal(self.key_width)
        value = Signal(64)
        command = Signal(2)
        status = Signal(2)
        found = Signal(64)
        used = Signal(range(self.capacity + 1))

        reads, writes = [], []
        for way, memory in enumerate(memories):
            read = memory.read_port()
            write = memory.write_port()
            m.d.comb += [read.addr.eq(self._hash(way, key)), write.addr.eq(read.addr)]
            m.d.comb += write.data.eq(read.data)
            reads.append(read.data)
            writes.append(write)

        registers = {
            ExactReg.KEY: key,
            ExactReg.VALUE_LO: value[:32],
            ExactReg.VALUE_HI: value[32:],
            ExactReg.STATUS: status,
            ExactReg.FOUND_LO: found[:32],
            ExactReg.FOUND_HI: found[32:],
            ExactReg.CAPACITY: self.capacity,
            ExactReg.USED: used,
        }
        with m.Switch(bus.adr):
            for address, source in registers.items():
                with m.Case(address):
                    m.d.comb += port.read_data.eq(source)
        m.d.comb += port.hold.eq(bus.adr == ExactReg.COMMAND)

        slots = [(way, slot) for way in range(WAYS) for slot in range(self.slots)]
        entries = [reads[way][slot] for way, slot in slots]
        hit_at, any_hit = self._first(m, [e.valid & (e.key == key) for e in entries], "hit")
        free_at, any_free = self._first(m, [~e.valid for e in entries], "free")

        def put(at, entry_valid):
            for index, (way, slot) in enumerate(slots):
                with m.If(at == index):
                    entry = writes[way].data[slot]
                    m.d.comb += [
                        writes[way].en.eq(1),
                        entry.valid.eq(entry_valid),
                        entry.key.eq(key),
                        entry.value.eq(value),
                    ]

        with m.FSM():
            with m.State("IDLE"), m.If(port.write), m.Switch(bus.adr):
                with m.Case(ExactReg.KEY):
                    m.d.sync += key.eq(bus.dat_w)
                with m.Case(ExactReg.VALUE_LO):
                    m.d.sync += value[:32].eq(bus.dat_w)
                with m.Case(ExactReg.VALUE_HI):
                    m.d.sync += value[32:].eq(bus.dat_w)
                with m.Case(ExactReg.COMMAND):
                    m.d.sync += command.eq(bus.dat_w)
                    m.next = "READ"
            with m.State("READ"):
                # The management read ports show the key's rows one cycle on.
                m.next = "EXECUTE"
            with m.State("EXECUTE"):
                m.d.comb += port.done.eq(1)
                m.next = "IDLE"
                m.d.sync += status.eq(ExactStatus.OK)
                with m.Switch(command):
                    with m.Case(ExactCommand.INSERT):
                        with m.If(any_hit):
                            put(hit_at, 1)
                        with m.Elif(any_free):
                            put(free_at, 1)
                            m.d.sync += used.eq(used + 1)
                        with m.Else():
                            m.d.sync += status.eq(ExactStatus.FULL)
                    with m.Case(ExactCommand.DELETE):
                        with m.If(any_hit):
                            put(hit_at, 0)
                            m.d.sync += used.eq(used - 1)
                        with m.Else():
                            m.d.sync += status.eq(ExactStatus.NOT_FOUND)
                    with m.Case(ExactCommand.FIND):
                        with m.If(any_hit):
                            for index, entry in enumerate(entries):
                                with m.If(hit_at == index):
                                    m.d.sync += found.eq(entry.value)
                        with m.Else():
                            m.d.sync += status.eq(ExactStatus.NOT_FOUND)
                    with m.Default():
                        m.d.sync += status.eq(ExactStatus.BAD_COMMAND)

    @staticmethod
    def _first(m, conditions, name):
        """Priority encoder: the index of the first true condition, and whether there is one."""
        at = Signal(range(len(conditions)), name=f"{name}_at")
        for index in reversed(range(len(conditions))):
            with m.If(conditions[index]):
                m.d.comb += at.eq(index)
        return at, Cat(*conditions).any()
