"""Per-port MAC registers: ``ingress.router_mac`` and ``egress.port_mac``.

With one entry per front port the table is a register file read in
parallel by every port's parser (router MAC) or by the match stage (source
MAC of the egress port); nothing needs a memory port.
"""

import enum

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .mgmt import MgmtSignature
from .regs import RegisterPort


class MacReg(enum.IntEnum):
    """Word addresses of a port-MAC table."""

    PORT = 0  # P4 port number, 1..num_ports
    MAC_LO = 1  # MAC bits 0..31
    MAC_HI = 2  # MAC bits 32..47
    COMMAND = 3  # MacCommand: commits the staged entry in one clock
    STATUS = 4  # MacStatus of the last command
    READBACK = 0x100  # + 2*port: MAC_LO, then MAC_HI | valid << 16


class MacCommand(enum.IntEnum):
    SET = 1
    CLEAR = 2


class MacStatus(enum.IntEnum):
    OK = 0
    BAD_PORT = 1
    BAD_COMMAND = 2


class PortMacTable(wiring.Component):
    """A MAC address (or none) for each front port.

    Members
    -------
    mac : Out(array of 48-bit MACs), ``mac[p - 1]`` for P4 port ``p``.
    valid : Out(num_ports), bit ``p - 1`` set when port ``p`` has a MAC.
    mgmt : In(MgmtSignature(10)), the registers of :class:`MacReg`.

    Latency: a committed entry is visible the cycle after the ``COMMAND``
    write. Backpressure: none (registers); lookups never wait.
    """

    def __init__(self, num_ports: int):
        if not isinstance(num_ports, int) or not 1 <= num_ports <= 254:
            raise ValueError(f"num_ports must be an integer 1..254, not {num_ports!r}")
        self.num_ports = num_ports
        super().__init__(
            {
                "mac": Out(data.ArrayLayout(48, num_ports)),
                "valid": Out(num_ports),
                "mgmt": In(MgmtSignature(10)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        port = RegisterPort(self.mgmt)
        port.elaborate(m)
        bus = self.mgmt
        number = Signal(9)
        mac = Signal(48)
        status = Signal(2)

        readable = {
            MacReg.PORT: number,
            MacReg.MAC_LO: mac[:32],
            MacReg.MAC_HI: mac[32:],
            MacReg.STATUS: status,
        }
        for p in range(1, self.num_ports + 1):
            entry = self.mac[p - 1]
            readable[MacReg.READBACK + 2 * p] = entry[:32]
            readable[MacReg.READBACK + 2 * p + 1] = Cat(entry[32:], self.valid[p - 1])
        with m.Switch(bus.adr):
            for address, source in readable.items():
                with m.Case(address):
                    m.d.comb += port.read_data.eq(source)

        with m.If(port.write), m.Switch(bus.adr):
            with m.Case(MacReg.PORT):
                m.d.sync += number.eq(bus.dat_w)
            with m.Case(MacReg.MAC_LO):
                m.d.sync += mac[:32].eq(bus.dat_w)
            with m.Case(MacReg.MAC_HI):
                m.d.sync += mac[32:].eq(bus.dat_w)
            with m.Case(MacReg.COMMAND):
                self._commit(m, bus.dat_w, number, mac, status)
        return m

    def _commit(self, m, command, number, mac, status):
        in_range = (number >= 1) & (number <= self.num_ports)
        with m.If(~in_range):
            m.d.sync += status.eq(MacStatus.BAD_PORT)
        with m.Elif((command != MacCommand.SET) & (command != MacCommand.CLEAR)):
            m.d.sync += status.eq(MacStatus.BAD_COMMAND)
        with m.Else():
            m.d.sync += status.eq(MacStatus.OK)
            for p in range(1, self.num_ports + 1):
                with m.If(number == p):
                    m.d.sync += [
                        self.mac[p - 1].eq(mac),
                        self.valid[p - 1].eq(command == MacCommand.SET),
                    ]
