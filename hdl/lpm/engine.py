"""A pipelined range-table IPv4 LPM engine in block RAM (DXR-style).

The structure is described in ``hdl/lpm/geometry.py`` and docs/lpm.md: a
direct table on the top address bits, then a binary search over the chunk's
sorted range starts, one pipeline stage (and one memory) per search step,
then the action table.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory

from sim.model.codes import PORT_BITS

from ..ecp5_ram import Ecp5RegisteredRam
from .geometry import LpmGeometry, Region
from .interface import LpmEngineSignature, LpmResult

__all__ = ["LpmEngine"]

#: Memories this shallow go to LUT RAM by default: a block RAM would be mostly empty.
DISTRIBUTED_MAX_DEPTH = 256
#: The read pipelines (see :class:`LpmEngine`) and the cycles of their memory reads.
PIPELINES = {"deep": 4, "shallow": 2}
#: The ways of building block RAM (see :class:`LpmEngine`).
BLOCK_RAMS = ("inferred", "ecp5")


class LpmEngine(wiring.Component):
    """IPv4 longest-prefix match, one lookup per clock.

    Parameters
    ----------
    geometry : LpmGeometry
        Memory sizes (the capacity is a build parameter: see
        :attr:`LpmGeometry.guaranteed_prefixes`).
    block_ram : ``"inferred"``, ``"ecp5"`` or None
        How the block RAMs are built: inferred from Amaranth memories (any
        toolchain, and simulation), or ECP5 DP16KD primitives read through
        their own output registers (:mod:`hdl.ecp5_ram`), which keeps
        the RAM's clock-to-output off the fabric. None (the default) picks
        ``"ecp5"`` when elaborated for an ECP5 platform with the deep
        pipeline, else ``"inferred"``. Both behave the same cycle for cycle.
    pipeline : ``"deep"`` or ``"shallow"``
        ``"deep"`` (the default) reads every memory in 4 cycles through
        banks of 16 words of LUT RAM or one block RAM, each with its own
        address and output registers, for a clock of 125 MHz and more on an
        ECP5. ``"shallow"`` reads in 2 cycles (the RAM's own output register,
        then the bank select into a register), one bank per LUT RAM: about
        half the flip-flops, for the board cores that run at a few tens of
        MHz (docs/lpm.md). It needs ``block_ram="inferred"``.
    lut_ram_max_depth : int
        Memories this deep or shallower are built from LUT RAM, deeper ones
        from block RAM (a block RAM would be mostly empty; on a small FPGA
        LUT RAM may be the scarcer of the two).

    Latency
    -------
    A lookup accepted in cycle ``t`` gives its result (``result.valid``) in
    cycle ``t + latency`` when the result queue is empty, with ``latency =
    (r + 2) * geometry.stages + r + 7`` for a memory read of ``r`` cycles (4
    deep, 2 shallow): ``r + 1`` cycles for the direct table (the read, then
    the search's start), ``r + 2`` per binary-search stage (the memory read:
    deep, address, two output registers or one and a first level of bank
    select, bank select; then the key comparison, then the step), 3 for the
    action table (address copies, read, register), 3 through the result
    queue. Every path is register to register through at most one carry
    chain or a few LUTs, and no register that drives logic also drives the
    whole die (nextpnr's Fmax on the ECP5 builds is in docs/benchmarks.md).

    Backpressure
    ------------
    The search pipeline never stalls (a stall enable would reach every one of
    its thousands of flip-flops and block RAMs in one cycle). Results go into
    a queue of ``queue_depth`` entries, and ``lookup.ready`` is high while
    fewer than ``queue_depth`` lookups are accepted but not yet taken from
    ``result``, so the queue never overflows. ``lookup.ready`` depends on no
    input in the same cycle. With ``result.ready`` high the engine takes one
    lookup per clock indefinitely; results come out in order.

    Management
    ----------
    ``mgmt`` writes the memories (address map in :class:`LpmGeometry`); a read
    returns :attr:`LpmGeometry.info_word`. A write reaches the memories
    :attr:`WRITE_LATENCY` cycles after the request, through a tree of
    registers (no register drives more than one bank's RAMs), and is
    acknowledged in 1 cycle, except a write to the direct table, which is the
    commit point of every update: it is acknowledged only once every lookup
    that may have read the previous direct word has finished its memory reads
    (:attr:`commit_latency` cycles after the request). So when the host reuses
    memory freed by an update, no lookup in flight can still read it: each
    lookup sees the table before or after an update, never a mix. The bus
    takes a write at most every other cycle.
    """

    def __init__(
        self,
        geometry: LpmGeometry | None = None,
        *,
        block_ram: str | None = None,
        pipeline: str = "deep",
        lut_ram_max_depth: int = DISTRIBUTED_MAX_DEPTH,
    ):
        geometry = LpmGeometry() if geometry is None else geometry
        if not isinstance(geometry, LpmGeometry):
            raise TypeError(f"geometry must be an LpmGeometry, not {geometry!r}")
        if block_ram not in (None, *BLOCK_RAMS):
            raise ValueError(f"block_ram must be one of {', '.join(BLOCK_RAMS)} or None, not {block_ram!r}")
        if pipeline not in PIPELINES:
            raise ValueError(f"pipeline must be one of {', '.join(PIPELINES)}, not {pipeline!r}")
        if pipeline == "shallow" and block_ram == "ecp5":
            raise ValueError(
                "the shallow pipeline reads block RAM in 2 cycles: it needs block_ram='inferred'"
            )
        if not isinstance(lut_ram_max_depth, int) or lut_ram_max_depth < 0:
            raise ValueError(f"lut_ram_max_depth must be a non-negative integer, not {lut_ram_max_depth!r}")
        self.geometry = geometry
        self.block_ram = block_ram
        self.pipeline = pipeline
        self.lut_ram_max_depth = lut_ram_max_depth
        super().__init__(LpmEngineSignature(geometry.mgmt_addr_width))

    @property
    def read_latency(self) -> int:
        """Cycles of a direct-table or search-stage memory read."""
        return PIPELINES[self.pipeline]

    @property
    def search_latency(self) -> int:
        """Cycles from taking a lookup to writing its result into the queue."""
        # The direct table: a memory read and a cycle; each stage: a read and 2; the
        # action table: 3.
        read = self.read_latency
        return (read + 2) * self.geometry.stages + read + 1 + 3

    @property
    def latency(self) -> int:
        return self.search_latency + 3

    @property
    def queue_depth(self) -> int:
        return self.latency + 2

    #: Cycles from a management write's request to the memory write: the bus
    #: registered, a copy per group of memories (and each memory's enable), a
    #: register per memory, the bank decoded, a register per bank
    #: (_BankedMemory.write).
    WRITE_LATENCY = 5

    @property
    def commit_latency(self) -> int:
        """Cycles from a direct-table write's request to its acknowledgement."""
        return self.search_latency + self.WRITE_LATENCY + 2

    def elaborate(self, platform) -> Module:
        g = self.geometry
        m = Module()
        block_ram = self.block_ram or ("inferred" if self.pipeline == "shallow" else _block_ram_for(platform))
        read_latency = self.read_latency

        def memory(name: str, width: int, depth: int, ram: str = "inferred", interleaved: bool = False):
            return _BankedMemory(
                name, width, depth, ram, interleaved=interleaved,
                lut_ram_max_depth=self.lut_ram_max_depth, lut_ram_banks=self.pipeline == "deep",
            )  # fmt: skip

        def stage_reg(value, name: str):
            """``value`` one pipeline step later."""
            reg = Signal.like(value, name=name)
            m.d.sync += reg.eq(value)
            return reg

        def delayed(value, steps: int, name: str):
            for i in range(steps):
                value = stage_reg(value, f"{name}_d{i}")
            return value

        # --- memories ---------------------------------------------------------------
        direct = memory("direct", g.direct_word_bits, 1 << g.direct_bits, block_ram)
        stages = [
            memory(f"stage{s}", g.range_word_bits, g.stage_depth(s), block_ram, interleaved=True)
            for s in range(g.stages)
        ]
        # Read in 2 cycles, so never through a primitive's output register.
        nhop = memory("nhop", 32, 1 << g.action_bits)
        kind_port = memory("kind_port", 2 + PORT_BITS, 1 << g.action_bits)
        for mem in (direct, *stages, nhop, kind_port):
            mem.add_to(m)
        self._elaborate_mgmt(m, direct, stages, nhop, kind_port)

        # --- direct table -------------------------------------------------------------
        record_layout = data.StructLayout(
            {
                "valid": 1,
                "key": g.key_bits,
                "pos": g.slot_bits,
                "last": g.slot_bits,
                "depth": g.depth_bits,
                "action": g.action_bits,
            }
        )
        entry = Signal(record_layout, name="direct_in")
        m.d.comb += [
            entry.valid.eq(self.lookup.valid & self.lookup.ready),
            entry.key.eq(self.lookup.payload[: g.key_bits]),
        ]
        word = direct.read(m, self.lookup.payload[g.key_bits :], latency=read_latency, fixed=True)
        entry = delayed(entry, read_latency, "direct")
        d_action = word[: g.action_bits]
        d_last = word[g.action_bits : g.action_bits + g.slot_bits]
        d_depth = word[g.action_bits + g.slot_bits :]
        record = Signal(record_layout, name="search_in")
        m.d.comb += [
            record.valid.eq(entry.valid),
            record.key.eq(entry.key),
            # The chunk's base: `last` with its low `depth` bits cleared.
            record.pos.eq(d_last & ~((1 << d_depth) - 1)),
            record.last.eq(d_last),
            record.depth.eq(d_depth),
            record.action.eq(d_action),
        ]
        # Each memory also gets the address a cycle early (`ahead`): it keeps its own
        # register copies of it, so that no register drives every bank.
        ahead = record
        record = stage_reg(record, "search_in")

        # --- binary search: stage s probes slots with s trailing zeros ------------------
        # A stage: the memory read (`read_latency` cycles), then the key comparison,
        # then the step it decides.
        for s in reversed(range(g.stages)):
            word = stages[s].read(
                m, record.pos[s + 1 :], ahead=ahead.pos[s + 1 :], ahead_valid=ahead.valid,
                latency=read_latency, fixed=True,
            )  # fmt: skip
            # Whether the probe lies inside the chunk needs no memory: decided a cycle
            # early (two comparisons, each straight into a register), next to the
            # key comparison.
            early = delayed(record, read_latency - 1, f"st{s}")
            probe = early.pos | (1 << s)
            deep = stage_reg(early.depth > s, f"st{s}_deep")
            inside = stage_reg(probe <= early.last, f"st{s}_inside")
            in_chunk = stage_reg(deep & inside, f"st{s}_in_chunk")
            waiting = stage_reg(early, f"st{s}_d{read_latency - 1}")
            below = stage_reg(word[g.action_bits :] <= waiting.key, f"st{s}_below")
            found = stage_reg(word[: g.action_bits], f"st{s}_found")
            waiting = stage_reg(waiting, f"st{s}_cmp")
            take = Signal(name=f"st{s}_take")
            m.d.comb += take.eq(in_chunk & below)
            out = Signal(record_layout, name=f"st{s}_out")
            m.d.comb += out.eq(waiting)
            with m.If(take):
                m.d.comb += [out.pos.eq(waiting.pos | (1 << s)), out.action.eq(found)]
            ahead = out
            record = stage_reg(out, f"st{s}_out")

        # --- action table -----------------------------------------------------------------
        # One more address register: each bank of the action table gets its own copy.
        action = stage_reg(record.action, "action")
        nhop_word = nhop.read(m, action, ahead=record.action, latency=2)
        kp_word = kind_port.read(m, action, ahead=record.action, latency=2)
        done = delayed(record, 3, "result")
        answer = Signal(LpmResult)
        m.d.comb += [
            answer.hit.eq(done.action != 0),
            answer.nhop.eq(nhop_word),
            answer.port.eq(kp_word[:PORT_BITS]),
            answer.kind.eq(kp_word[PORT_BITS:]),
        ]

        # --- result queue and the credit that keeps it from overflowing -------------------
        # In LUT RAM: a block RAM here would hand the core its 5.8 ns clock-to-output.
        # Even and odd entries live in two halves, each read every cycle into a
        # register at its next entry from the head on; the head is in one of those
        # registers, picked by its parity. So no LUT-RAM read (and its multiplexer)
        # sits in front of the output register, and each half is half as deep.
        half = (self.queue_depth + 1) // 2
        produce = Signal(range(2 * half))
        consume = Signal(range(2 * half))  # the head entry
        heads = []
        for parity in (0, 1):
            memory = Memory(shape=len(answer.as_value()), depth=half, init=[],
                            attrs={"ram_style": "distributed"})  # fmt: skip
            m.submodules[f"queue{parity}"] = memory
            write, read = memory.write_port(), memory.read_port(domain="comb")
            next_entry = Signal(range(half), name=f"queue{parity}_next")  # its first entry from the head on
            m.d.comb += [
                write.addr.eq(produce[1:]),
                write.data.eq(answer),
                write.en.eq(done.valid & (produce[0] == parity)),
                read.addr.eq(next_entry),
            ]
            heads.append((next_entry, _later(m, read.data, f"queue{parity}_head")))
        # An entry is counted a cycle after it is written, when `heads` can hold it.
        written = stage_reg(done.valid, "queue_written")
        stored = Signal(range(self.queue_depth + 1))  # counted entries not yet output
        any_stored = Signal()  # stored != 0, kept in a register of its own
        out_valid = Signal()
        out_data = Signal.like(answer)
        load = any_stored & (~out_valid | self.result.ready)
        m.d.comb += [self.result.valid.eq(out_valid), self.result.payload.eq(out_data)]
        with m.If(done.valid):
            m.d.sync += produce.eq(Mux(produce == 2 * half - 1, 0, produce + 1))
        with m.If(load):
            m.d.sync += [
                out_data.eq(Mux(consume[0], heads[1][1], heads[0][1])),
                out_valid.eq(1),
                consume.eq(Mux(consume == 2 * half - 1, 0, consume + 1)),
            ]
            for parity, (next_entry, _) in enumerate(heads):
                with m.If(consume[0] == parity):
                    m.d.sync += next_entry.eq(Mux(next_entry == half - 1, 0, next_entry + 1))
        with m.Elif(self.result.ready):
            m.d.sync += out_valid.eq(0)
        stored_next = stored + written - load
        m.d.sync += [stored.eq(stored_next), any_stored.eq(stored_next != 0)]
        outstanding = Signal(range(self.queue_depth + 1))
        taken = self.lookup.valid & self.lookup.ready
        given = self.result.valid & self.result.ready
        m.d.sync += outstanding.eq(outstanding + taken - given)
        m.d.comb += self.lookup.ready.eq(outstanding < self.queue_depth)
        return m

    def _elaborate_mgmt(self, m: Module, direct, stages, nhop, kind_port) -> None:
        g = self.geometry
        bus = self.mgmt
        region = bus.adr[g.region_bits :]
        index = bus.adr[: g.region_bits]
        start = Signal()
        idle = Signal()
        m.d.comb += start.eq(bus.stb & ~bus.ack)

        # In region order: a group is a range of regions.
        targets = [(Region.DIRECT, direct), (Region.ACTION_NHOP, nhop), (Region.ACTION_KIND_PORT, kind_port)]
        targets += [(Region.STAGE + s, mem) for s, mem in enumerate(stages)]
        # The first two of the write registers (the rest are in _BankedMemory.write):
        # the bus, registered; then a copy of address and data per group of a few
        # memories, loaded only by writes to the group (so that Yosys cannot merge
        # the copies), next to each memory's decoded enable. No register drives
        # the whole die.
        bus_write = Signal()
        bus_region = Signal.like(region)
        bus_index = Signal.like(index)
        bus_data = Signal.like(bus.dat_w)
        m.d.sync += [
            bus_write.eq(idle & start & bus.we),
            bus_region.eq(region),
            bus_index.eq(index),
            bus_data.eq(bus.dat_w),
        ]
        for first in range(0, len(targets), WRITE_GROUP_SIZE):
            group = targets[first : first + WRITE_GROUP_SIZE]
            w_index = Signal.like(index, name=f"w_index{first // WRITE_GROUP_SIZE}")
            w_data = Signal.like(bus.dat_w, name=f"w_data{first // WRITE_GROUP_SIZE}")
            # Decoded with the bus register: the copy's enable is a register too.
            to_group = Signal(name=f"bus_write{first // WRITE_GROUP_SIZE}")
            in_group = (region >= group[0][0]) & (region <= group[-1][0])
            m.d.sync += to_group.eq(idle & start & bus.we & in_group)
            with m.If(to_group):
                m.d.sync += [w_index.eq(bus_index), w_data.eq(bus_data)]
            for number, mem in group:
                w_en = Signal(name=f"w_en_{mem.name}")
                m.d.sync += w_en.eq(bus_write & (bus_region == number))
                mem.write(m, w_index, w_data, w_en)

        # The direct word is written WRITE_LATENCY cycles after `start`; a lookup that
        # read the old word then does its last memory read `search_latency - 1` cycles
        # later.
        fence = Signal(range(self.commit_latency))
        with m.FSM(name="mgmt"):
            with m.State("IDLE"):
                m.d.comb += idle.eq(1)
                with m.If(start):
                    with m.If(bus.we & (region == Region.DIRECT)):
                        m.d.sync += fence.eq(self.commit_latency - 2)
                        m.next = "FENCE"
                    with m.Else():
                        m.d.sync += [bus.ack.eq(1), bus.dat_r.eq(g.info_word)]
                        m.next = "ACK"
            with m.State("FENCE"):
                m.d.sync += fence.eq(fence - 1)
                with m.If(fence == 0):
                    m.d.sync += [bus.ack.eq(1), bus.dat_r.eq(g.info_word)]
                    m.next = "ACK"
            with m.State("ACK"):
                m.d.sync += bus.ack.eq(0)
                m.next = "IDLE"


def _block_ram_for(platform) -> str:
    # Imported here: amaranth.vendor pulls in every vendor's platform code.
    from amaranth.vendor import LatticeECP5Platform

    return "ecp5" if isinstance(platform, LatticeECP5Platform) else "inferred"


#: Words per bank of a deep memory: one ECP5 block RAM deep in its x9 mode.
BANK_DEPTH = 2048
#: Words per bank of a LUT RAM: one ECP5 DPR16X4 deep.
LUT_RAM_BANK_DEPTH = 16
#: Banks per first-level group of a two-stage bank multiplexer (one LUT4 + PFUMX deep).
GROUP_SIZE = 4
#: Memories per copy of the management write's address and data.
WRITE_GROUP_SIZE = 4
#: Bits of an ECP5 block RAM (DP16KD) in its x9, x18 and x36 modes.
EBR_BITS = 18432


class _BankedMemory:
    """A memory split into banks (``BANK_DEPTH`` words of block RAM, or
    ``LUT_RAM_BANK_DEPTH`` of LUT RAM), read in 4 pipelined cycles.

    Cycle 1 reads every bank; cycles 2 and 3 register each bank's output twice:
    an ECP5 block RAM's clock-to-output takes most of an 8 ns cycle, so the
    first register must sit next to the RAM, and the second is free to be
    anywhere on the way to the bank multiplexer (with more than ``GROUP_SIZE``
    banks it holds a first level of that multiplexer instead); cycle 4
    registers the word picked by the bank bits. Data registers have no reset
    (nothing reads them before a valid bit says so), which keeps a reset LUT
    off these paths.
    """

    LATENCY = 4

    def __init__(
        self,
        name: str,
        width: int,
        depth: int,
        block_ram: str = "inferred",
        *,
        interleaved: bool = False,
        lut_ram_max_depth: int = DISTRIBUTED_MAX_DEPTH,
        lut_ram_banks: bool = True,
    ):
        self.name = name
        self.width = width
        distributed = depth <= lut_ram_max_depth
        # LUT RAM is banked 16 words deep (`lut_ram_banks`): a bank is one LUT level
        # (DPR16X4) in front of its register, and the wide multiplexer of a deeper
        # LUT RAM becomes the bank select a register later. Unbanked, that
        # multiplexer sits in front of the RAM's output register.
        lut_ram_bank_depth = LUT_RAM_BANK_DEPTH if lut_ram_banks else depth
        self.bank_depth = min(depth, lut_ram_bank_depth if distributed else BANK_DEPTH)
        self.bank_bits = (self.bank_depth - 1).bit_length()
        attrs = {"ram_style": "distributed"} if distributed else {}
        #: Lanes are DP16KD primitives with their output register (hdl/ecp5_ram.py).
        self.primitive = block_ram == "ecp5" and not distributed
        if self.primitive:
            # x9 at 2048 words, else x18 (a 512-word bank leaves half of its RAM empty).
            lane = 9 if self.bank_depth > 1024 else 18
        else:
            # Lanes exactly one block RAM wide at this depth (2048x9, 1024x18, 512x36),
            # so that Yosys cannot pick a deeper mode and put a multiplexer between
            # the RAM and its output register.
            lane = width if distributed else min(width, EBR_BITS // max(self.bank_depth, 512))
        self.lanes = [(low, min(lane, width - low)) for low in range(0, width, lane)]

        def lane_memory(lane_width: int):
            if self.primitive:
                return Ecp5RegisteredRam(lane_width, self.bank_depth)
            return Memory(shape=lane_width, depth=self.bank_depth, init=[], attrs=attrs)

        self.banks = [
            [lane_memory(w) for _, w in self.lanes]
            for _ in range((depth + self.bank_depth - 1) // self.bank_depth)
        ]
        #: Word address bit 0 picks one of a pair of banks (the rest of the bank
        #: number is the top bits): for a search stage, whose address bit 0 is the
        #: previous stage's comparison, decided last. It then only selects a bank
        #: word, cycles later, and reaches no RAM address.
        self.interleaved = interleaved and len(self.banks) > 1

    def add_to(self, m: Module) -> None:
        for i, bank in enumerate(self.banks):
            for j, lane in enumerate(bank):
                m.submodules[f"{self.name}_bank{i}_lane{j}"] = lane

    def read(
        self, m: Module, addr, *, ahead=None, ahead_valid=None, latency: int = LATENCY, fixed: bool = False
    ):
        """The word at ``addr``, ``latency`` (2 or 4) cycles later.

        ``ahead``, if given, is ``addr`` a cycle earlier (what its register
        loads): each bank then reads through its own copy of the address,
        loaded only by lookups that go to that bank (a bank whose address is
        stale is not selected), so no register drives every bank, and Yosys
        cannot merge the copies back into one. A memory of one bank gets a copy
        loaded only by valid lookups (``ahead_valid``), if given.

        ``fixed``: a read of the word written in the same cycle returns the
        written word. An ECP5 block RAM returns an undefined word then; the
        substitution happens in front of the last register, after the bank
        multiplexer (one place per memory, not one per bank).
        """

        def later(value, name: str):
            reg = Signal.like(value, name=f"{self.name}_{name}", reset_less=True)
            m.d.sync += reg.eq(value)
            return reg

        extra = latency - 2  # output registers before the bank multiplexer
        if self.primitive and extra < 2:
            raise ValueError(f"{self.name}: a block RAM primitive is read in 4 cycles, not {latency}")

        def fix(value):
            """``value``, or the word written in the cycle it was read (see below)."""
            if collisions is None:
                return value
            collided, written = collisions
            fixed = Signal.like(value, name=f"{self.name}_fixed")
            m.d.comb += fixed.eq(Mux(collided, written, value))
            return fixed

        collisions = self._collisions(m, addr, latency - 1) if fixed else None
        # With many banks, the second output register holds a first level of the
        # bank multiplexer instead (below): no cycle carries a wide multiplexer. A
        # primitive's own output register is the first.
        plain = extra - self.primitive - self._grouped(extra)
        outputs = []
        for i, bank in enumerate(self.banks):
            read_addr = self._bank_address(m, i, addr, ahead, ahead_valid)
            value = Signal(self.width, name=f"{self.name}_rd")
            for (low, width), lane in zip(self.lanes, bank, strict=True):
                if self.primitive:
                    m.d.comb += [lane.raddr.eq(read_addr), value[low : low + width].eq(lane.rdata)]
                else:
                    port = lane.read_port()
                    m.d.comb += [port.addr.eq(read_addr), value[low : low + width].eq(port.data)]
            for j in range(plain):
                value = later(value, f"b{i}_q{j}")
            outputs.append(value)
        if len(self.banks) == 1:
            return later(fix(outputs[0]), "word")

        def pick(values, select, name: str):
            picked = Signal.like(values[0], name=f"{self.name}_{name}")
            with m.Switch(select):
                for i, value in enumerate(values):
                    with m.Case(i):
                        m.d.comb += picked.eq(value)
            return picked

        select = self._split(addr)[0]
        if not self._grouped(extra):
            for i in range(extra + 1):
                select = later(select, f"sel{i}")
            return later(fix(pick(outputs, select, "pick")), "word")
        for i in range(extra - 1):
            select = later(select, f"sel{i}")
        low = (GROUP_SIZE - 1).bit_length()
        groups = []
        for first in range(0, len(outputs), GROUP_SIZE):
            # Each group selects with its own copy of the bank bits, loaded only by
            # lookups to that group (like the read addresses).
            number = first // GROUP_SIZE
            own = Signal(low, name=f"{self.name}_group{number}_sel", reset_less=True)
            with m.If(select[low:] == number):
                m.d.sync += own.eq(select[:low])
            picked = pick(outputs[first : first + GROUP_SIZE], own, f"group{number}")
            groups.append(later(picked, f"group{number}_q"))
        high = later(later(select[low:], f"sel{extra - 1}"), f"sel{extra}")
        return later(fix(pick(groups, high, "pick")), "word")

    def _collisions(self, m: Module, addr, delay: int):
        """Whether the RAMs wrote the word at ``addr`` in the cycle it was read,
        and that word, ``delay`` cycles later."""
        w_en, w_addr, w_data = self._at_ram
        hit = Signal(name=f"{self.name}_hit")
        m.d.comb += hit.eq(w_en & (w_addr == addr))
        collided, written = hit, w_data
        for i in range(delay):
            collided_next = Signal(name=f"{self.name}_hit{i}")
            m.d.sync += collided_next.eq(collided)
            collided = collided_next
            written = _later(m, written, f"{self.name}_written{i}")
        return collided, written

    def _grouped(self, extra: int) -> bool:
        """Whether the bank multiplexer takes two register stages (many banks, time for it)."""
        return extra >= 2 and len(self.banks) > GROUP_SIZE

    def _split(self, addr):
        """``addr`` as (bank number, word in the bank, bank number without the
        interleave bit)."""
        if self.interleaved:
            row = addr[1 + self.bank_bits :]
            return Cat(addr[0], row), addr[1 : 1 + self.bank_bits], row
        return addr[self.bank_bits :], addr[: self.bank_bits], addr[self.bank_bits :]

    def _bank_address(self, m: Module, bank: int, addr, ahead, ahead_valid):
        """The read address of bank ``bank``: ``addr``, or the bank's own copy of it."""
        single = len(self.banks) == 1
        if ahead is None or self.bank_bits == 0 or (single and ahead_valid is None):
            return self._split(addr)[1]
        _, word, row = self._split(ahead)
        copy = Signal(self.bank_bits, name=f"{self.name}_raddr{bank}", reset_less=True)
        # Both banks of an interleaved pair load the same copy (Yosys merges it).
        with m.If(ahead_valid if single else row == (bank >> 1 if self.interleaved else bank)):
            m.d.sync += copy.eq(word)
        return copy

    def write(self, m: Module, addr, data, enable) -> None:
        """Connect the write port; call before :meth:`read`.

        Three more cycles: a register for the memory, loaded only by its own
        writes (so that Yosys cannot merge it with another memory's copy); the
        bank decoded; a register per bank (address, data, enable), loaded only
        by that bank's writes, so no register drives more than one bank's RAMs.
        """
        addr_q = Signal.like(addr, name=f"{self.name}_waddr", reset_less=True)
        data_q = Signal(self.width, name=f"{self.name}_wdata", reset_less=True)
        with m.If(enable):
            m.d.sync += [addr_q.eq(addr), data_q.eq(data[: self.width])]
        en_q = Signal(name=f"{self.name}_wen")
        m.d.sync += en_q.eq(enable)
        number, word, _ = self._split(addr_q)
        for i, bank in enumerate(self.banks):
            # The bank is decoded a cycle before the bank's register loads, which
            # still finds the write in `addr_q` and `data_q`: the bus takes a write
            # at most every other cycle (IDLE, then ACK or FENCE).
            chosen = Signal(name=f"{self.name}_wsel{i}")
            m.d.sync += chosen.eq(en_q & (number == i))
            bank_addr = Signal(self.bank_bits, name=f"{self.name}_waddr{i}", reset_less=True)
            bank_data = Signal(self.width, name=f"{self.name}_wdata{i}", reset_less=True)
            bank_en = Signal(name=f"{self.name}_wen{i}")
            m.d.sync += bank_en.eq(chosen)
            with m.If(chosen):
                m.d.sync += [bank_addr.eq(word), bank_data.eq(data_q)]
            for (low, width), lane in zip(self.lanes, bank, strict=True):
                if self.primitive:
                    m.d.comb += [
                        lane.waddr.eq(bank_addr),
                        lane.wdata.eq(bank_data[low : low + width]),
                        lane.wen.eq(bank_en),
                    ]
                    continue
                port = lane.write_port()
                m.d.comb += [
                    port.addr.eq(bank_addr),
                    port.data.eq(bank_data[low : low + width]),
                    port.en.eq(bank_en),
                ]
        # What the RAMs write this cycle (enable, word address, data), for reads of
        # the word being written: with one bank, its write registers.
        if len(self.banks) == 1:
            self._at_ram = (bank_en, bank_addr, bank_data)
            return
        en_decoded = Signal(name=f"{self.name}_wen_dec")
        en_at_ram = Signal(name=f"{self.name}_wen_ram")
        m.d.sync += [en_decoded.eq(en_q), en_at_ram.eq(en_decoded)]
        self._at_ram = (
            en_at_ram,
            _later(m, _later(m, addr_q, f"{self.name}_waddr_dec"), f"{self.name}_waddr_ram"),
            _later(m, _later(m, data_q, f"{self.name}_wdata_dec"), f"{self.name}_wdata_ram"),
        )


def _later(m: Module, value, name: str):
    """``value`` a cycle later, in a register without reset."""
    reg = Signal.like(value, name=name, reset_less=True)
    m.d.sync += reg.eq(value)
    return reg
