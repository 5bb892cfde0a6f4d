"""The match stages: local_ip, LPM and neighbour lookups, and the verdict.

Shared by every port: header vectors come in tagged with their port, one per
clock, and leave as decisions in the same order. The header vector travels
beside the lookups in FIFOs (fork/join), so the engines need only be
in-order, not fixed-latency.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import data, enum, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from sim.model.codes import DropReason, PuntReason

from .counters import ReasonEvent
from .exact import ExactMatchTable
from .lpm.interface import LpmEngineSignature, RouteKind
from .parser import LENGTH_BITS, EarlyVerdict, HeaderVector

PORT_INDEX_BITS = 8


class Action(enum.Enum, shape=2):
    FORWARD = 0  # routed: rewrite MACs, TTL, checksum
    PUNT = 1  # to the CPU port with packet_in
    DROP = 2
    PACKET_OUT = 3  # from the CPU port: strip packet_out, no rewrite


class Decision(data.Struct):
    """What the rewrite stage does with one frame."""

    action: Action
    out: PORT_INDEX_BITS  # output port index: front ports 0..N-1, CPU port N
    reason: 4  # PuntReason or drop reason
    length: LENGTH_BITS  # bytes received
    dmac: 48
    smac: 48
    smac_valid: 1  # else the frame keeps its source MAC
    ttl: 8  # new TTL
    checksum: 16  # new header checksum


def tagged(layout) -> data.StructLayout:
    """``layout`` with the input port index it belongs to."""
    return data.StructLayout({"port": PORT_INDEX_BITS, "body": layout})


Pending = data.StructLayout(
    {
        "port": PORT_INDEX_BITS,
        "action": Action,
        "reason": 4,
        "out": PORT_INDEX_BITS,
        "need_arp": 1,
        "nhop": 32,
        "hv": HeaderVector,
    }
)


def _checksum_after_ttl_decrement(checksum, ttl, proto):
    """RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), with m = ttl:proto and m' = (ttl-1):proto."""

    def add(a, b):
        total = a + b
        return (total[:16] + total[16]).as_unsigned()[:16]

    old = (ttl << 8) | proto
    new = ((ttl - 1)[:8] << 8) | proto
    total = add(add(~checksum[:16], (~old)[:16]), new)
    return (~total)[:16]


class Match(wiring.Component):
    """Looks up every header vector and decides its frame's fate (DESIGN.md §1 steps 6-9).

    Parameters
    ----------
    num_ports : int
        Front ports; port index ``num_ports`` is the CPU port.
    lpm : wiring.Component
        The LPM engine (any :class:`LpmEngineSignature` implementation); a
        ``latency`` attribute, if present, sizes the FIFO beside it.
    local_ip, arp : ExactMatchTable
        The ``local_ip`` table (key only) and the neighbour table (value: MAC).

    Members
    -------
    header : In(stream of tagged HeaderVector)
    decision : Out(stream of tagged Decision), in the order of ``header``.
    port_mac, port_mac_valid : In, the egress source MACs.
    drop : Out(ReasonEvent), a drop decided (for the counters).

    Latency: ``lpm.latency + 4`` cycles from ``header`` to ``decision``
    (neighbour lookup 2, FIFOs 2). Throughput: one header per clock.
    Backpressure: ``decision.ready`` low stalls the stages in order back to
    ``header.ready``; nothing is lost.
    """

    def __init__(
        self, *, num_ports: int, lpm: wiring.Component, local_ip: ExactMatchTable, arp: ExactMatchTable
    ):
        if not isinstance(num_ports, int) or not 1 <= num_ports <= 254:
            raise ValueError(f"num_ports must be an integer 1..254, not {num_ports!r}")
        if not isinstance(lpm.signature, LpmEngineSignature):
            raise TypeError(f"lpm must implement LpmEngineSignature, not {lpm.signature!r}")
        if local_ip.key_width != 32 or arp.key_width != 32 or arp.value_width != 48:
            raise ValueError("local_ip needs 32-bit keys; arp needs 32-bit keys and 48-bit values")
        self.num_ports = num_ports
        self.lpm = lpm
        self.local_ip = local_ip
        self.arp = arp
        self.lpm_latency = int(getattr(lpm, "latency", 16))
        super().__init__(
            {
                "header": In(stream.Signature(tagged(HeaderVector))),
                "decision": Out(stream.Signature(tagged(Decision))),
                "port_mac": In(data.ArrayLayout(48, num_ports)),
                "port_mac_valid": In(num_ports),
                "drop": Out(ReasonEvent),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.lpm = lpm = self.lpm
        m.submodules.local_ip = local_ip = self.local_ip
        m.submodules.arp = arp = self.arp
        m.submodules.beside_lpm = beside_lpm = fifo.SyncFIFOBuffered(
            width=self.header.payload.shape().size, depth=self.lpm_latency + 4
        )
        # local_ip answers in 2 cycles, the LPM in many more: its hits wait here
        # for the LPM result. Every header in flight holds a place in
        # ``beside_lpm``, so a FIFO as deep never fills and local_ip never
        # stalls (without it, local_ip's two-entry pipeline would let only two
        # headers into the LPM per LPM latency).
        m.submodules.local_hits = local_hits = fifo.SyncFIFOBuffered(width=1, depth=beside_lpm.depth)
        m.submodules.beside_arp = beside_arp = fifo.SyncFIFOBuffered(width=Pending.size, depth=6)

        # Fork: the destination to the LPM and local_ip lookups, the header beside them.
        room = Signal()
        m.d.comb += [
            local_hits.w_data.eq(local_ip.result.payload.hit),
            local_hits.w_en.eq(local_ip.result.valid),
            local_ip.result.ready.eq(local_hits.w_rdy),
            room.eq(lpm.lookup.ready & local_ip.lookup.ready & beside_lpm.w_rdy),
            self.header.ready.eq(room),
            lpm.lookup.payload.eq(self.header.payload.body.dst),
            local_ip.lookup.payload.eq(self.header.payload.body.dst),
            beside_lpm.w_data.eq(self.header.payload),
            lpm.lookup.valid.eq(self.header.valid & room),
            local_ip.lookup.valid.eq(self.header.valid & room),
            beside_lpm.w_en.eq(self.header.valid & room),
        ]

        # Join, then fork again: the next hop to the neighbour table.
        header = data.View(tagged(HeaderVector), beside_lpm.r_data)
        pending = Signal(Pending)
        self._route(m, header, local_hits.r_data[0], lpm.result.payload, pending)
        joined = lpm.result.valid & local_hits.r_rdy & beside_lpm.r_rdy
        onward = arp.lookup.ready & beside_arp.w_rdy
        m.d.comb += [
            lpm.result.ready.eq(local_hits.r_rdy & beside_lpm.r_rdy & onward),
            local_hits.r_en.eq(lpm.result.valid & beside_lpm.r_rdy & onward),
            beside_lpm.r_en.eq(lpm.result.valid & local_hits.r_rdy & onward),
            arp.lookup.valid.eq(joined & beside_arp.w_rdy),
            arp.lookup.payload.eq(pending.nhop),
            beside_arp.w_en.eq(joined & arp.lookup.ready),
            beside_arp.w_data.eq(pending),
        ]

        # Join: the verdict.
        waiting = data.View(Pending, beside_arp.r_data)
        decision = self.decision.payload
        self._finish(m, waiting, arp.result.payload, decision)
        m.d.comb += [
            self.decision.valid.eq(arp.result.valid & beside_arp.r_rdy),
            arp.result.ready.eq(beside_arp.r_rdy & self.decision.ready),
            beside_arp.r_en.eq(arp.result.valid & self.decision.ready),
            self.drop.valid.eq(
                self.decision.valid & self.decision.ready & (decision.body.action == Action.DROP)
            ),
            self.drop.reason.eq(decision.body.reason),
            self.drop.length.eq(decision.body.length),
        ]
        return m

    def _route(self, m, header, local_hit, route, pending):
        """Steps 6-8 for a sane IPv4 packet; the parser's verdict for everything else."""
        hv = header.body
        cpu = self.num_ports
        m.d.comb += [pending.port.eq(header.port), pending.hv.eq(hv), pending.out.eq(cpu)]

        def punt(reason):
            return [pending.action.eq(Action.PUNT), pending.reason.eq(reason)]

        def drop(reason):
            return [pending.action.eq(Action.DROP), pending.reason.eq(reason)]

        with m.Switch(hv.verdict):
            with m.Case(EarlyVerdict.DROP):
                m.d.comb += drop(hv.drop)
            with m.Case(EarlyVerdict.PUNT_ARP):
                m.d.comb += punt(PuntReason.ARP)
            with m.Case(EarlyVerdict.PACKET_OUT):
                m.d.comb += [pending.action.eq(Action.PACKET_OUT), pending.out.eq(hv.egress - 1)]
            with m.Case(EarlyVerdict.LOOKUP):
                front = (route.port >= 1) & (route.port <= self.num_ports)
                with m.If(local_hit | hv.to_router):
                    m.d.comb += punt(PuntReason.LOCAL)
                with m.Elif(hv.multicast):
                    m.d.comb += drop(DropReason.MULTICAST_DESTINATION)
                with m.Elif(~hv.routable_l2):
                    m.d.comb += drop(DropReason.NOT_ROUTABLE_L2)
                with m.Elif(hv.ttl <= 1):
                    m.d.comb += punt(PuntReason.TTL_EXPIRED)
                with m.Elif(~route.hit):
                    m.d.comb += punt(PuntReason.NO_ROUTE)
                with m.Elif((route.kind == RouteKind.DROP) | ~front):
                    # A route to a port that does not exist cannot be installed
                    # (the driver refuses it); treat it as a null route if it is.
                    m.d.comb += drop(DropReason.NULL_ROUTE)
                with m.Else():
                    m.d.comb += [
                        pending.action.eq(Action.FORWARD),
                        pending.need_arp.eq(1),
                        pending.out.eq(route.port - 1),
                        pending.nhop.eq(Mux(route.kind == RouteKind.NEXTHOP, route.nhop, hv.dst)),
                    ]

    def _finish(self, m, pending, neighbour, decision):
        """Step 9 (neighbour) and the rewrite values of step 10."""
        hv = pending.hv
        body = decision.body
        m.d.comb += [
            decision.port.eq(pending.port),
            body.action.eq(pending.action),
            body.reason.eq(pending.reason),
            body.out.eq(pending.out),
            body.length.eq(hv.length),
            body.dmac.eq(neighbour.value),
            body.ttl.eq(hv.ttl - 1),
            body.checksum.eq(_checksum_after_ttl_decrement(hv.checksum, hv.ttl, hv.proto)),
        ]
        for index in range(self.num_ports):
            with m.If(pending.out == index):
                m.d.comb += [
                    body.smac.eq(self.port_mac[index]),
                    body.smac_valid.eq(self.port_mac_valid[index]),
                ]
        with m.If(pending.need_arp & ~neighbour.hit):
            m.d.comb += [
                body.action.eq(Action.PUNT),
                body.reason.eq(PuntReason.ARP_MISS),
                body.out.eq(self.num_ports),
            ]
