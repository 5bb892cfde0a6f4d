"""The router core: N front ports and the CPU port in, the same out, and the management bus.

::

    rx[i] -> Parser[i] --payload FIFO------------> Rewrite[i] -> Crossbar -> OutputQueue[j] -> tx[j]
               | header vector                          ^ decision
               v                                        |
         round-robin arbiter -> Match (local_ip, LPM, arp) -> demux by port

(docs/hdl.md has the full picture.)

Every port has its own parser, payload FIFO and rewrite stage, so every port
runs at line rate at once; only the header vectors share the match stages,
which take one per clock. Port index ``i`` is P4 port ``i + 1`` for
``i < num_ports``; index ``num_ports`` is the CPU port (P4 port 255).

Management address map (word addresses; the top 4 bits select a block,
``block_bits`` = max(12, the LPM engine's address width)):

======  ============  =========================================================
block   name          contents
======  ============  =========================================================
0       INFO          :class:`InfoReg` (identification and build parameters)
1       ROUTER_MAC    :class:`hdl.port_macs.MacReg` for ``ingress.router_mac``
2       PORT_MAC      :class:`hdl.port_macs.MacReg` for ``egress.port_mac``
3       LOCAL_IP      :class:`hdl.exact.ExactReg` (key only)
4       ARP           :class:`hdl.exact.ExactReg` (value = MAC)
5       COUNTERS      :func:`hdl.counters.counter_address`
6       LPM           the LPM engine's own space
======  ============  =========================================================
"""

import enum
from collections.abc import Callable

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from sim.model.codes import CPU_PORT, PACKET_IN_HEADER_LEN, PACKET_OUT_HEADER_LEN

from .counters import CounterBlock
from .crossbar import Crossbar, round_robin
from .exact import ExactMatchTable
from .lpm.interface import LpmEngineSignature
from .match import Decision, Match
from .mgmt import MgmtSignature
from .parser import Parser
from .port_macs import PortMacTable
from .queue import OutputQueue
from .regs import RegisterPort
from .rewrite import Rewrite
from .stream import beats_in, check_width, packet_signature

MAGIC = 0x54575254  # "TWRT"
VERSION = 1
BLOCK_SELECT_BITS = 4


class Block(enum.IntEnum):
    """Top bits of a management address."""

    INFO = 0
    ROUTER_MAC = 1
    PORT_MAC = 2
    LOCAL_IP = 3
    ARP = 4
    COUNTERS = 5
    LPM = 6


class InfoReg(enum.IntEnum):
    MAGIC = 0
    VERSION = 1
    NUM_PORTS = 2
    WIDTH = 3
    BLOCK_BITS = 4
    MAX_FRAME = 5
    LOCAL_IP_CAPACITY = 6
    ARP_CAPACITY = 7
    QUEUE_DEPTH = 8
    ACTIVE_PORTS = 9  # read/write: front ports in use (1..num_ports), for tables of fewer ports


def default_lpm() -> wiring.Component:
    from .lpm.engine import LpmEngine

    return LpmEngine()


class RouterCore(wiring.Component):
    """The whole pipeline of DESIGN.md §1 for ``num_ports`` front ports and the CPU port.

    Parameters
    ----------
    num_ports : int
        Front ports (P4 ports 1..num_ports).
    width : int
        Datapath width in bytes.
    lpm : callable
        Makes the LPM engine (a component with :class:`LpmEngineSignature`).
    max_frame : int
        Longest frame accepted on a front port (bytes); longer ones are dropped
        and counted under drop index ``OVERSIZE_DROP``.
    queue_depth : int or None
        Beats per output queue; by default room for two maximum frames.
    local_ip_rows, arp_rows : int
        Rows per way of the hash tables (capacity ``2 * rows * slots``).
    arp_slots : int
        Entries per row of the ARP table (2 by default). One slot halves the
        row (an 81-bit entry: five block RAMs per way instead of ten) and the
        comparators; with twice the rows the capacity is the same, though
        inserts are refused sooner as the table fills (docs/hdl.md).

    Members
    -------
    rx : In(packet).array(num_ports + 1), frames from each port (CPU last).
    tx : Out(packet).array(num_ports + 1), frames to each port (CPU last;
        punts carry ``packet_in``).
    mgmt : In(MgmtSignature(4 + block_bits)).

    Latency: store and forward. The first beat of a forwarded frame leaves
    ``frame beats + match latency + 5`` cycles or so after its first beat arrived
    (docs/hdl.md lists measured values). Throughput: every port at one beat
    per cycle at once, with back-to-back frames, for frames of at least
    ``LINE_RATE_FRAME`` bytes and ``num_ports + 1`` beats (the match stages
    take one header per clock; each port holds enough decision credits for
    the minimum frames it sends while a header is being matched).
    Backpressure: ``rx[i].ready`` drops only while port ``i``'s payload FIFO
    is full; ``tx[j].ready`` low fills queue ``j``, whose overflow is tail
    dropped and counted (QUEUE_FULL). Nothing else stalls a port.
    """

    #: Bytes of the smallest frame that must pass at line rate (the Ethernet minimum).
    LINE_RATE_FRAME = 60
    #: Cycles a header spends in the match stages beyond the LPM latency, plus FIFOs and margin.
    MATCH_OVERHEAD = 16

    def __init__(
        self,
        *,
        num_ports: int = 4,
        width: int = 8,
        lpm: Callable[[], wiring.Component] = default_lpm,
        max_frame: int = 9216,
        queue_depth: int | None = None,
        local_ip_rows: int = 32,
        arp_rows: int = 512,
        arp_slots: int = 2,
    ):
        self.width = check_width(width)
        if not isinstance(num_ports, int) or not 1 <= num_ports <= 254:
            raise ValueError(f"num_ports must be an integer 1..254, not {num_ports!r}")
        self.num_ports = num_ports
        self.max_frame = max_frame
        self.lpm = lpm()
        if not isinstance(getattr(self.lpm, "signature", None), LpmEngineSignature):
            raise TypeError(f"lpm() must make a component with LpmEngineSignature, not {self.lpm!r}")
        self.local_ip = ExactMatchTable(value_width=0, rows=local_ip_rows)
        self.arp = ExactMatchTable(value_width=48, rows=arp_rows, slots=arp_slots)
        # A header waits about the match latency for its decision: the payload
        # FIFO must hold that many beats beyond a maximum frame, and each port
        # needs a decision credit for every minimum frame sent in the round trip
        # (header out, decision back, frame out), or full load has bubbles.
        verdict_delay = int(getattr(self.lpm, "latency", 16)) + self.MATCH_OVERHEAD
        self.decision_depth = max(8, -(-verdict_delay // beats_in(self.LINE_RATE_FRAME, width)) + 2)
        self.parsers = [
            Parser(
                width=width,
                num_ports=num_ports,
                max_frame=max_frame + (PACKET_OUT_HEADER_LEN if index == num_ports else 0),
                cpu=index == num_ports,
                slack=max(Parser.PAYLOAD_SLACK, verdict_delay + 16),
            )
            for index in range(num_ports + 1)
        ]
        smallest = beats_in(max_frame + PACKET_IN_HEADER_LEN, width)
        self.queue_depth = 2 * smallest if queue_depth is None else queue_depth
        if not isinstance(self.queue_depth, int) or self.queue_depth < smallest:
            raise ValueError(f"queue_depth must hold a maximum frame ({smallest} beats), not {queue_depth!r}")
        self.block_bits = max(12, self.lpm.signature.members["mgmt"].signature.addr_width)
        super().__init__(
            {
                "rx": In(packet_signature(width)).array(num_ports + 1),
                "tx": Out(packet_signature(width)).array(num_ports + 1),
                "mgmt": In(MgmtSignature(BLOCK_SELECT_BITS + self.block_bits)),
            }
        )

    @property
    def ports(self) -> int:
        """Port indices, CPU port included."""
        return self.num_ports + 1

    def port_number(self, index: int) -> int:
        return CPU_PORT if index == self.num_ports else index + 1

    def elaborate(self, platform):
        m = Module()
        n = self.num_ports
        m.submodules.router_mac = router_mac = PortMacTable(n)
        m.submodules.port_mac = port_mac = PortMacTable(n)
        m.submodules.match = match = Match(num_ports=n, lpm=self.lpm, local_ip=self.local_ip, arp=self.arp)
        m.submodules.counters = counters = CounterBlock(n)
        m.submodules.crossbar = crossbar = Crossbar(width=self.width, inputs=self.ports, outputs=self.ports)
        m.d.comb += [match.port_mac.eq(port_mac.mac), match.port_mac_valid.eq(port_mac.valid)]

        decision_fifos = []
        for index, parser in enumerate(self.parsers):
            m.submodules[f"parser{index}"] = parser
            wiring.connect(m, wiring.flipped(self.rx[index]), parser.i)
            if index < n:
                m.d.comb += [
                    parser.router_mac.eq(router_mac.mac[index]),
                    parser.router_mac_valid.eq(router_mac.valid[index]),
                ]
            decisions = fifo.SyncFIFOBuffered(width=Decision.as_shape().size, depth=self.decision_depth)
            m.submodules[f"decisions{index}"] = decisions
            decision_fifos.append(decisions)
            rewrite = Rewrite(width=self.width, port_index=index, num_ports=n)
            m.submodules[f"rewrite{index}"] = rewrite
            wiring.connect(m, parser.payload, rewrite.payload)
            m.d.comb += [
                rewrite.decision.valid.eq(decisions.r_rdy),
                rewrite.decision.payload.eq(decisions.r_data),
                decisions.r_en.eq(rewrite.decision.ready),
            ]
            wiring.connect(m, rewrite.o, crossbar.i[index])

            queue = OutputQueue(width=self.width, depth=self.queue_depth, cpu=index == n)
            m.submodules[f"queue{index}"] = queue
            wiring.connect(m, crossbar.o[index], queue.i)
            wiring.connect(m, queue.o, wiring.flipped(self.tx[index]))
            m.d.comb += [counters.tx[index].eq(queue.tx), counters.queue_full[index].eq(queue.queue_full)]
            if index == n:
                m.d.comb += counters.punt.eq(queue.punt)

        self._arbitrate(m, match, decision_fifos, counters)
        m.d.comb += [
            match.decision.ready.eq(1),  # credits guarantee room in every decision FIFO
            counters.drop.eq(match.drop),
        ]
        for index, decisions in enumerate(decision_fifos):
            m.d.comb += [
                decisions.w_en.eq(match.decision.valid & (match.decision.payload.port == index)),
                decisions.w_data.eq(match.decision.payload.body),
            ]

        active_ports = Signal(8, init=n)
        m.d.comb += self.parsers[n].active_ports.eq(active_ports)
        self._decode(
            m,
            {
                Block.ROUTER_MAC: router_mac.mgmt,
                Block.PORT_MAC: port_mac.mgmt,
                Block.LOCAL_IP: self.local_ip.mgmt,
                Block.ARP: self.arp.mgmt,
                Block.COUNTERS: counters.mgmt,
                Block.LPM: self.lpm.mgmt,
            },
            active_ports,
        )
        return m

    def _arbitrate(self, m, match, decision_fifos, counters):
        """Header vectors into the match stages, round robin, one per clock, only with a credit.

        A port's credits count the decisions it has room for; a header costs
        one, and the rewrite stage returns it when it takes the decision.
        """
        requests, credits = [], []
        for index, parser in enumerate(self.parsers):
            outstanding = Signal(range(self.decision_depth + 1), name=f"outstanding{index}")
            credits.append(outstanding)
            requests.append(parser.header.valid & (outstanding != self.decision_depth))
        last = Signal(range(max(self.ports, 2)))
        grant, any_request = round_robin(m, requests, last, "header")
        fire = match.header.valid & match.header.ready
        m.d.comb += [match.header.valid.eq(any_request), match.header.payload.port.eq(grant)]
        with m.If(fire):
            m.d.sync += last.eq(grant)
        for index, (parser, decisions) in enumerate(zip(self.parsers, decision_fifos, strict=True)):
            chosen = grant == index
            issued = fire & chosen
            with m.If(chosen):
                m.d.comb += match.header.payload.body.eq(parser.header.payload)
            m.d.comb += [
                parser.header.ready.eq(chosen & any_request & match.header.ready),
                counters.rx[index].valid.eq(issued),
                counters.rx[index].length.eq(parser.header.payload.length),
            ]
            returned = decisions.r_rdy & decisions.r_en
            m.d.sync += credits[index].eq(credits[index] + issued - returned)

    def _decode(self, m, blocks: dict, active_ports):
        """Routes each access to the block its top address bits name; other blocks answer 0."""
        bus = self.mgmt
        select = bus.adr[self.block_bits :]
        offset = bus.adr[: self.block_bits]
        info = MgmtSignature(self.block_bits).create(path=("info",))
        blocks = {Block.INFO: info, **blocks}
        self._info(m, info, active_ports)
        hit = []
        for number, sub in blocks.items():
            chosen = select == number
            hit.append(chosen)
            m.d.comb += [
                sub.adr.eq(offset),
                sub.we.eq(bus.we),
                sub.dat_w.eq(bus.dat_w),
                sub.stb.eq(bus.stb & chosen),
            ]
            with m.If(chosen):
                m.d.comb += [bus.ack.eq(sub.ack), bus.dat_r.eq(sub.dat_r)]
        nowhere = Signal()  # an unmapped block: acknowledge, read 0
        m.d.sync += nowhere.eq(bus.stb & ~Cat(*hit).any() & ~nowhere)
        with m.If(~Cat(*hit).any()):
            m.d.comb += bus.ack.eq(nowhere)

    def _info(self, m, bus, active_ports):
        port = RegisterPort(bus)
        port.elaborate(m)
        valid = (bus.dat_w >= 1) & (bus.dat_w <= self.num_ports)
        with m.If(port.write & (bus.adr == InfoReg.ACTIVE_PORTS) & valid):
            m.d.sync += active_ports.eq(bus.dat_w)
        values = {
            InfoReg.MAGIC: MAGIC,
            InfoReg.VERSION: VERSION,
            InfoReg.NUM_PORTS: self.num_ports,
            InfoReg.WIDTH: self.width,
            InfoReg.BLOCK_BITS: self.block_bits,
            InfoReg.MAX_FRAME: self.max_frame,
            InfoReg.LOCAL_IP_CAPACITY: self.local_ip.capacity,
            InfoReg.ARP_CAPACITY: self.arp.capacity,
            InfoReg.QUEUE_DEPTH: self.queue_depth,
            InfoReg.ACTIVE_PORTS: active_ports,
        }
        with m.Switch(bus.adr):
            for address, value in values.items():
                with m.Case(address):
                    m.d.comb += port.read_data.eq(value)
