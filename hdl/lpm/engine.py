"""A pipelined range-table IPv4 LPM engine in block RAM (DXR-style).

The structure is described in ``hdl/lpm/geometry.py`` and docs/lpm.md: a
direct table on the top address bits, then a binary search over the chunk's
sorted range starts, one pipeline stage (and one memory) per search step,
then the action table.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from sim.model.codes import PORT_BITS

from .geometry import LpmGeometry, Region
from .interface import LpmEngineSignature

__all__ = ["LpmEngine"]


class LpmEngine(wiring.Component):
    """IPv4 longest-prefix match, one lookup per clock.

    Parameters
    ----------
    geometry : LpmGeometry
        Memory sizes (the capacity is a build parameter: see
        :attr:`LpmGeometry.guaranteed_prefixes`).

    Latency
    -------
    A lookup accepted in cycle ``t`` gives its result (``result.valid``) in
    cycle ``t + latency`` with ``latency = 2 * geometry.stages + 3`` when
    ``result.ready`` stays high: 2 cycles for the direct table, 2 per
    binary-search stage (memory read, then compare), 1 for the action table
    (its memory output is the result).

    Backpressure
    ------------
    The whole pipeline stalls while ``result.valid and not result.ready``
    (every pipeline register and memory read port is enabled by one
    ``advance`` signal); ``lookup.ready`` is ``advance``. No lookup is lost or
    reordered, and the pipeline accepts one lookup per clock while
    ``result.ready`` is high.

    Management
    ----------
    ``mgmt`` writes the memories (address map in :class:`LpmGeometry`); a read
    returns :attr:`LpmGeometry.info_word`. Writes take 2 cycles, except a
    write to the direct table, which is the commit point of every update: it
    is acknowledged only after every lookup that may have read the previous
    direct word has left the pipeline (``latency`` advancing cycles). So when
    the host reuses memory freed by an update, no lookup in flight can still
    read it: each lookup sees the table before or after an update, never a mix.
    """

    def __init__(self, geometry: LpmGeometry | None = None):
        geometry = LpmGeometry() if geometry is None else geometry
        if not isinstance(geometry, LpmGeometry):
            raise TypeError(f"geometry must be an LpmGeometry, not {geometry!r}")
        self.geometry = geometry
        super().__init__(LpmEngineSignature(geometry.mgmt_addr_width))

    @property
    def latency(self) -> int:
        return 2 * self.geometry.stages + 3

    def elaborate(self, platform) -> Module:
        g = self.geometry
        m = Module()

        advance = Signal()
        m.d.comb += [
            advance.eq(~self.result.valid | self.result.ready),
            self.lookup.ready.eq(advance),
        ]

        # --- memories ---------------------------------------------------------------
        m.submodules.direct = direct = Memory(shape=g.direct_word_bits, depth=1 << g.direct_bits, init=[])
        stages = []
        for s in range(g.stages):
            mem = Memory(shape=g.range_word_bits, depth=g.stage_depth(s), init=[])
            m.submodules[f"stage{s}"] = mem
            stages.append(mem)
        m.submodules.nhop = nhop = Memory(shape=32, depth=1 << g.action_bits, init=[])
        m.submodules.kind_port = kind_port = Memory(shape=2 + PORT_BITS, depth=1 << g.action_bits, init=[])

        self._elaborate_mgmt(m, advance, direct, stages, nhop, kind_port)

        # --- direct table -------------------------------------------------------------
        direct_rd = direct.read_port()
        valid0 = Signal()
        key0 = Signal(g.key_bits)
        m.d.comb += [
            direct_rd.addr.eq(self.lookup.payload[g.key_bits :]),
            direct_rd.en.eq(advance),
        ]
        with m.If(advance):
            m.d.sync += [valid0.eq(self.lookup.valid), key0.eq(self.lookup.payload[: g.key_bits])]

        # The search state entering each stage; stages run s = stages-1 .. 0.
        valid = Signal(name="s_valid")
        key = Signal(g.key_bits, name="s_key")
        pos = Signal(g.slot_bits, name="s_pos")
        last = Signal(g.slot_bits, name="s_last")
        depth = Signal(g.depth_bits, name="s_depth")
        action = Signal(g.action_bits, name="s_action")
        d_action = direct_rd.data[: g.action_bits]
        d_last = direct_rd.data[g.action_bits : g.action_bits + g.slot_bits]
        d_depth = direct_rd.data[g.action_bits + g.slot_bits :]
        # base = last with the low `depth` bits cleared.
        base_mask = Signal(g.slot_bits)
        m.d.comb += base_mask.eq(~((1 << d_depth) - 1))
        with m.If(advance):
            m.d.sync += [
                valid.eq(valid0),
                key.eq(key0),
                pos.eq(d_last & base_mask),
                last.eq(d_last),
                depth.eq(d_depth),
                action.eq(d_action),
            ]

        # --- binary search --------------------------------------------------------------
        for s in reversed(range(g.stages)):
            rd = stages[s].read_port()
            m.d.comb += [rd.addr.eq(pos[s + 1 :]), rd.en.eq(advance)]
            # Registers that wait beside the memory read.
            mv, mk, mp, ml, md, ma = (
                Signal.like(sig, name=f"st{s}_{sig.name[2:]}")
                for sig in (valid, key, pos, last, depth, action)
            )
            with m.If(advance):
                m.d.sync += [mv.eq(valid), mk.eq(key), mp.eq(pos), ml.eq(last), md.eq(depth), ma.eq(action)]
            r_key = rd.data[g.action_bits :]
            r_action = rd.data[: g.action_bits]
            probe = mp | (1 << s)
            take = Signal(name=f"st{s}_take")
            m.d.comb += take.eq((md > s) & (probe <= ml) & (r_key <= mk))
            nv, nk, np_, nl, nd, na = (
                Signal.like(sig, name=f"st{s}_out_{sig.name[2:]}")
                for sig in (valid, key, pos, last, depth, action)
            )
            with m.If(advance):
                m.d.sync += [nv.eq(mv), nk.eq(mk), nl.eq(ml), nd.eq(md)]
                with m.If(take):
                    m.d.sync += [np_.eq(probe), na.eq(r_action)]
                with m.Else():
                    m.d.sync += [np_.eq(mp), na.eq(ma)]
            valid, key, pos, last, depth, action = nv, nk, np_, nl, nd, na

        # --- action table -----------------------------------------------------------------
        nhop_rd = nhop.read_port()
        kp_rd = kind_port.read_port()
        m.d.comb += [
            nhop_rd.addr.eq(action),
            kp_rd.addr.eq(action),
            nhop_rd.en.eq(advance),
            kp_rd.en.eq(advance),
        ]
        out_valid = Signal()
        out_hit = Signal()
        with m.If(advance):
            m.d.sync += [out_valid.eq(valid), out_hit.eq(action != 0)]
        m.d.comb += [
            self.result.valid.eq(out_valid),
            self.result.payload.hit.eq(out_hit),
            self.result.payload.nhop.eq(nhop_rd.data),
            self.result.payload.port.eq(kp_rd.data[:PORT_BITS]),
            self.result.payload.kind.eq(kp_rd.data[PORT_BITS:]),
        ]
        return m

    def _elaborate_mgmt(self, m: Module, advance, direct, stages, nhop, kind_port) -> None:
        g = self.geometry
        bus = self.mgmt
        region = bus.adr[g.region_bits :]
        index = bus.adr[: g.region_bits]
        start = Signal()
        idle = Signal()
        m.d.comb += start.eq(bus.stb & ~bus.ack)

        targets = [(Region.DIRECT, direct), (Region.ACTION_NHOP, nhop), (Region.ACTION_KIND_PORT, kind_port)]
        targets += [(Region.STAGE + s, mem) for s, mem in enumerate(stages)]
        for number, mem in targets:
            wr = mem.write_port()
            m.d.comb += [
                wr.addr.eq(index),
                wr.data.eq(bus.dat_w),
                wr.en.eq(idle & start & bus.we & (region == number)),
            ]

        fence = Signal(range(self.latency + 3))
        with m.FSM(name="mgmt"):
            with m.State("IDLE"):
                m.d.comb += idle.eq(1)
                with m.If(start):
                    with m.If(bus.we & (region == Region.DIRECT)):
                        m.d.sync += fence.eq(self.latency + 2)
                        m.next = "FENCE"
                    with m.Else():
                        m.d.sync += [bus.ack.eq(1), bus.dat_r.eq(g.info_word)]
                        m.next = "ACK"
            with m.State("FENCE"):
                with m.If(advance):
                    m.d.sync += fence.eq(fence - 1)
                with m.If(fence == 0):
                    m.d.sync += [bus.ack.eq(1), bus.dat_r.eq(g.info_word)]
                    m.next = "ACK"
            with m.State("ACK"):
                m.d.sync += bus.ack.eq(0)
                m.next = "IDLE"
