"""An ECP5 block RAM (DP16KD) read through its own output register.

Yosys maps an Amaranth :class:`~amaranth.lib.memory.Memory` onto DP16KD with
the output register off (``REGMODE=NOREG``), so a read leaves the RAM after
its ~5.8 ns clock-to-output and must then be routed to a fabric register,
which nextpnr may place far away: on the LPM engine that route was the
critical path (docs/benchmarks.md). Yosys does not absorb a following
register into the RAM, so this component instantiates the primitive with
``REGMODE_B=OUTREG``: the data leaves the RAM already registered.

Only the FPGA build uses it (the LPM engine's block RAMs and the MAC's packet
FIFOs); simulation keeps the inferred memory plus one register, which behaves
the same cycle for cycle (see the ``block_ram`` parameter of
:class:`hdl.lpm.engine.LpmEngine` and :class:`hdl.mac.packet_fifo.PacketFifo`).
"""

# No `from __future__ import annotations`: wiring.Component reads the port annotations.

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["MODES", "RAM_PORTS", "Ecp5RegisteredRam"]

#: DP16KD data width -> (deepest depth, lowest address pin used). The address
#: pins below the lowest one select bytes (x18) or are unused (x9).
MODES = {9: (2048, 3), 18: (1024, 4)}
#: Address pins of one port.
ADDRESS_PINS = 14
#: A simple dual-port RAM lane: read address and data, write address, data and enable.
RAM_PORTS = wiring.Signature(
    {"raddr": In(11), "rdata": Out(18), "waddr": In(11), "wdata": In(18), "wen": In(1)}
)


class Ecp5RegisteredRam(wiring.Component):
    """One DP16KD: port A writes, port B reads through the output register.

    Parameters
    ----------
    width : int
        Word width, at most 18 bits.
    depth : int
        Words, at most 2048 (width ≤ 9) or 1024 (width ≤ 18).

    Latency
    -------
    ``rdata`` holds the word at ``raddr`` two cycles after ``raddr`` is
    presented (address register, then output register). A word written in
    cycle ``t`` is read from cycle ``t + 1`` on; a read of the address being
    written in the same cycle returns an undefined word (the engine resolves
    that collision itself).

    Backpressure
    ------------
    None: one read and one write every cycle.
    """

    def __init__(self, width: int, depth: int):
        if not isinstance(width, int) or not 1 <= width <= 18:
            raise ValueError(f"a DP16KD word is 1 to 18 bits here, not {width!r}")
        mode = 9 if width <= 9 and depth > 1024 else 18
        if not isinstance(depth, int) or not 1 <= depth <= MODES[mode][0]:
            raise ValueError(f"a {width}-bit DP16KD holds at most {MODES[mode][0]} words, not {depth!r}")
        self.width = width
        self.depth = depth
        self.mode = mode
        super().__init__(RAM_PORTS)

    def elaborate(self, platform) -> Module:
        m = Module()
        _, low = MODES[self.mode]
        used = ADDRESS_PINS - low

        def address(value) -> dict[str, object]:
            """Pin -> bit: the word address on the high pins, byte enables (x18) or 0 below."""
            bits = {i: Const(0, 1) for i in range(ADDRESS_PINS)}
            for i in range(used):
                bits[low + i] = value[i] if i < len(value) else Const(0, 1)
            if self.mode == 18:
                bits[0] = bits[1] = Const(1, 1)  # both byte enables on
            return bits

        connections: dict[str, object] = {}
        for pin, bit in address(self.waddr).items():
            connections[f"i_ADA{pin}"] = bit
        read_address = address(self.raddr)
        if self.mode == 18:
            read_address[0] = read_address[1] = Const(0, 1)  # no byte enables on a read
        for pin, bit in read_address.items():
            connections[f"i_ADB{pin}"] = bit
        rdata = Signal(18)
        for i in range(18):
            connections[f"i_DIA{i}"] = self.wdata[i] if i < self.width else Const(0, 1)
            connections[f"i_DIB{i}"] = Const(0, 1)
            connections[f"o_DOB{i}"] = rdata[i]
        for port, write in (("A", self.wen), ("B", Const(0, 1))):
            connections |= {
                f"i_CLK{port}": ClockSignal(),
                f"i_CE{port}": Const(1, 1),
                f"i_OCE{port}": Const(1, 1),
                f"i_WE{port}": write,
                f"i_RST{port}": Const(0, 1),
                **{f"i_CS{port}{i}": Const(0, 1) for i in range(3)},
            }
        m.submodules.ram = Instance(
            "DP16KD",
            p_DATA_WIDTH_A=self.mode,
            p_DATA_WIDTH_B=self.mode,
            p_REGMODE_A="NOREG",
            p_REGMODE_B="OUTREG",
            p_WRITEMODE_A="NORMAL",
            p_WRITEMODE_B="NORMAL",
            p_RESETMODE="SYNC",
            p_ASYNC_RESET_RELEASE="SYNC",
            p_CSDECODE_A="0b000",
            p_CSDECODE_B="0b000",
            p_GSR="DISABLED",
            **connections,
        )
        m.d.comb += self.rdata.eq(rdata[: self.width])
        return m
