"""A management-bus subordinate for a handful of registers, shared by the small tables.

Every access is acknowledged in the cycle after ``stb`` (one-cycle ``ack``);
reads return the word :meth:`RegisterPort.read_mux` selects. Subordinates
whose writes take longer (hash-table inserts) hold :attr:`RegisterPort.busy`
high and raise :attr:`RegisterPort.done` when finished instead.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring

from .mgmt import DATA_WIDTH


class RegisterPort:
    """Bus handshake for a register-style subordinate.

    ``write`` is high for one cycle per write access (``adr``/``dat_w`` valid),
    ``read`` for one cycle per read access; ``read_data`` is the word to return.
    Writes acknowledge at once unless the subordinate drives ``hold`` in that
    cycle; then it must pulse ``done`` when the work is finished.
    """

    def __init__(self, bus: wiring.PureInterface):
        self.bus = bus
        self.write = Signal()
        self.read = Signal()
        self.read_data = Signal(DATA_WIDTH)
        self.hold = Signal()
        self.done = Signal()
        self.waiting = Signal()

    def elaborate(self, m: Module) -> None:
        bus = self.bus
        start = bus.stb & ~bus.ack & ~self.waiting
        m.d.comb += [self.write.eq(start & bus.we), self.read.eq(start & ~bus.we)]
        m.d.sync += bus.ack.eq(0)
        with m.If(start):
            with m.If(self.write & self.hold):
                m.d.sync += self.waiting.eq(1)
            with m.Else():
                m.d.sync += bus.ack.eq(1)
            with m.If(self.read):
                m.d.sync += bus.dat_r.eq(self.read_data)
        with m.If(self.waiting & self.done):
            m.d.sync += [self.waiting.eq(0), bus.ack.eq(1)]
