"""RGMII PHY adapter: RGMII DDR pins on one side, GMII on the other.

RGMII carries a GMII byte on 4 data lines per clock edge at 125 MHz: the low
nibble and ``en``/``dv`` on the rising edge, the high nibble and ``en ^ er`` /
``dv ^ er`` on the falling edge. RGMII v2.0 wants the clock to reach the
receiver 1.5 to 2 ns after the data changes; either the PHY adds that delay
internally ("RGMII-ID") or the FPGA does. Where needed, the ECP5's ``DELAYG``
primitive (25 ps per tap) delays the received data (``rx_delay_ps``) and the
forwarded transmit clock (``tx_clock_delay_ps``), the scheme LiteEth uses on
these boards.

The DDR registers are *swappable*: :class:`Ecp5Ddr` instantiates the ECP5's
``IDDRX1F``/``ODDRX1F``/``DELAYG`` primitives for synthesis; :class:`SimDdr`
builds the same behaviour from ordinary rising- and falling-edge registers so
that the design simulates in Icarus and Verilator. Nothing else differs between
the synthesized and the simulated board top. ``SimDdr`` cannot model the
delays; a simulation models them in its PHY (it samples the transmit pins with
a clock shifted by the PHY's delay, see tests/hdl/mac).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import C, Cat, ClockDomain, ClockSignal, Instance, Module, Mux, Signal, Value
from amaranth.lib import io, wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import In, Out

from .layout import GmiiRxSignature, GmiiTxSignature

#: ``DELAYG`` tap size in picoseconds (ECP5 datasheet, nominal).
DELAYG_TAP_PS = 25
DELAYG_MAX_TAPS = 127


@dataclass(frozen=True)
class RgmiiPins:
    """The six RGMII signals, as I/O ports (without buffers)."""

    rx_clk: io.PortLike
    rx_ctl: io.PortLike
    rx_data: io.PortLike
    tx_clk: io.PortLike
    tx_ctl: io.PortLike
    tx_data: io.PortLike

    @classmethod
    def from_resource(cls, resource) -> RgmiiPins:
        """From ``platform.request("eth_rgmii", n, dir="-")``; accepts ``rx_ctrl``/``tx_ctrl`` too
        (amaranth-boards' Versa names its second PHY's control pins so)."""

        def pin(*names):
            for name in names:
                if hasattr(resource, name):
                    return getattr(resource, name)
            raise ValueError(f"RGMII resource {resource!r} has none of {names}")

        return cls(
            rx_clk=pin("rx_clk"),
            rx_ctl=pin("rx_ctl", "rx_ctrl"),
            rx_data=pin("rx_data"),
            tx_clk=pin("tx_clk"),
            tx_ctl=pin("tx_ctl", "tx_ctrl"),
            tx_data=pin("tx_data"),
        )

    @classmethod
    def for_simulation(cls, prefix: str) -> RgmiiPins:
        """Top-level ports named ``{prefix}_rx_clk`` and so on."""

        def port(name, width):
            return io.SingleEndedPort(io.IOPort(width, name=f"{prefix}_{name}"))

        return cls(
            rx_clk=port("rx_clk", 1),
            rx_ctl=port("rx_ctl", 1),
            rx_data=port("rx_data", 4),
            tx_clk=port("tx_clk", 1),
            tx_ctl=port("tx_ctl", 1),
            tx_data=port("tx_data", 4),
        )


def _delay_taps(delay_ps: int) -> int:
    taps = round(delay_ps / DELAYG_TAP_PS)
    if not 0 <= taps <= DELAYG_MAX_TAPS:
        raise ValueError(f"delay {delay_ps} ps is outside DELAYG's 0..{DELAYG_MAX_TAPS * DELAYG_TAP_PS} ps")
    return taps


class Ecp5Ddr:
    """ECP5 I/O primitives: ``IB``/``OB`` pads, ``IDDRX1F``/``ODDRX1F``, ``DELAYG``."""

    def clock_input(self, m: Module, name: str, port) -> Value:
        clk = Signal(name=name)
        m.submodules[f"{name}_ib"] = Instance("IB", i_I=_io(port)[0], o_O=clk)
        return clk

    def ddr_input(self, m: Module, name: str, port, domain: str, delay_ps: int) -> tuple[Value, Value]:
        rise, fall = Signal(len(port), name=f"{name}_rise"), Signal(len(port), name=f"{name}_fall")
        taps = _delay_taps(delay_ps)
        for bit in range(len(port)):
            pad = Signal(name=f"{name}_pad{bit}")
            m.submodules[f"{name}_ib{bit}"] = Instance("IB", i_I=_io(port)[bit], o_O=pad)
            if taps:
                delayed = Signal(name=f"{name}_delayed{bit}")
                m.submodules[f"{name}_delay{bit}"] = Instance(
                    "DELAYG", p_DEL_MODE="USER_DEFINED", p_DEL_VALUE=taps, i_A=pad, o_Z=delayed
                )
                pad = delayed
            m.submodules[f"{name}_iddr{bit}"] = Instance(
                "IDDRX1F", i_SCLK=ClockSignal(domain), i_RST=C(0), i_D=pad, o_Q0=rise[bit], o_Q1=fall[bit]
            )
        return rise, fall

    def ddr_output(self, m: Module, name: str, port, domain: str, rise, fall, delay_ps: int = 0) -> None:
        taps = _delay_taps(delay_ps)
        rise, fall = Value.cast(rise), Value.cast(fall)
        for bit in range(len(port)):
            q = Signal(name=f"{name}_q{bit}")
            m.submodules[f"{name}_oddr{bit}"] = Instance(
                "ODDRX1F",
                i_SCLK=ClockSignal(domain),
                i_RST=C(0),
                i_D0=rise[bit % len(rise)],
                i_D1=fall[bit % len(fall)],
                o_Q=q,
            )
            if taps:
                delayed = Signal(name=f"{name}_delayed{bit}")
                m.submodules[f"{name}_delay{bit}"] = Instance(
                    "DELAYG", p_DEL_MODE="USER_DEFINED", p_DEL_VALUE=taps, i_A=q, o_Z=delayed
                )
                q = delayed
            m.submodules[f"{name}_ob{bit}"] = Instance("OB", i_I=q, o_O=_io(port)[bit])


class SimDdr:
    """Simulation models of :class:`Ecp5Ddr`'s primitives, built from plain registers.

    ``ddr_input`` pairs the value sampled at a rising edge with the one sampled
    at the following falling edge and presents both after the next rising edge,
    as ``IDDRX1F`` does. ``ddr_output`` drives the rising-edge value while the
    clock is high and the falling-edge value while it is low. Delays are ignored.
    """

    def clock_input(self, m: Module, name: str, port) -> Value:
        m.submodules[f"{name}_buf"] = buf = io.Buffer("i", port)
        return buf.i

    def __init__(self):
        self._falling_domains: set[tuple[int, str]] = set()

    def _falling(self, m: Module, domain: str) -> str:
        """A falling-edge twin of ``domain``, made once per module."""
        name = f"{domain}_fall"
        if (id(m), name) not in self._falling_domains:
            self._falling_domains.add((id(m), name))
            m.domains += ClockDomain(name, clk_edge="neg", reset_less=True, local=True)
            m.d.comb += ClockSignal(name).eq(ClockSignal(domain))
        return name

    def ddr_input(self, m: Module, name: str, port, domain: str, delay_ps: int) -> tuple[Value, Value]:
        _delay_taps(delay_ps)
        m.submodules[f"{name}_buf"] = buf = io.Buffer("i", port)
        sampled_rise = Signal(len(port), name=f"{name}_sampled_rise")
        sampled_fall = Signal(len(port), name=f"{name}_sampled_fall")
        rise, fall = Signal(len(port), name=f"{name}_rise"), Signal(len(port), name=f"{name}_fall")
        m.d[domain] += sampled_rise.eq(buf.i)
        m.d[self._falling(m, domain)] += sampled_fall.eq(buf.i)
        m.d[domain] += [rise.eq(sampled_rise), fall.eq(sampled_fall)]
        return rise, fall

    def ddr_output(self, m: Module, name: str, port, domain: str, rise, fall, delay_ps: int = 0) -> None:
        _delay_taps(delay_ps)
        m.submodules[f"{name}_buf"] = buf = io.Buffer("o", port)
        rise_q = Signal(len(port), name=f"{name}_rise_q")
        fall_q = Signal(len(port), name=f"{name}_fall_q")
        fall_held = Signal(len(port), name=f"{name}_fall_held")
        m.d[domain] += [rise_q.eq(rise), fall_q.eq(fall)]
        m.d[self._falling(m, domain)] += fall_held.eq(fall_q)
        m.d.comb += buf.o.eq(Mux(ClockSignal(domain), rise_q, fall_held))


def _io(port):
    if not isinstance(port, io.SingleEndedPort):
        raise TypeError(f"RGMII pins must be single-ended ports, not {port!r}")
    if any(port.invert):
        raise ValueError(f"RGMII pin {port!r} must not be inverted")
    return port.io


class RgmiiPhy(wiring.Component):
    """Adapts RGMII pins (1000 Mb/s) to GMII.

    Parameters
    ----------
    pins : RgmiiPins
    ddr : Ecp5Ddr | SimDdr
        Which DDR primitives to build with.
    rx_delay_ps : int
        Delay added to the received data and control (0 when the PHY delays its
        receive clock itself).
    tx_clock_delay_ps : int
        Delay added to the forwarded transmit clock (0 when the PHY delays it
        itself).
    rx_domain : str
        The receive clock domain, defined by the caller (where the MAC that
        uses it can see it); this adapter drives its clock from the PHY's
        receive clock, and its reset from ``rx_reset``, released in step with
        that clock.
    tx_domain : str
        Clock domain of the transmit side, 125 MHz, provided by the caller.

    Members
    -------
    gmii_rx : Out(GmiiRxSignature()), in ``rx_domain``
        Registered; a byte appears 2 receive clocks after its falling-edge half.
    gmii_tx : In(GmiiTxSignature()), in ``tx_domain``
        Sampled every cycle; on the pins 1 cycle later (plus ODDRX1F's pipeline).
    rx_reset : In(1)
        Holds the receive domain in reset (any domain; synchronized here).

    No backpressure anywhere: GMII moves one byte per clock.
    """

    def __init__(
        self,
        pins: RgmiiPins,
        *,
        ddr: Ecp5Ddr | SimDdr,
        rx_delay_ps: int = 0,
        tx_clock_delay_ps: int = 0,
        rx_domain: str = "eth_rx",
        tx_domain: str = "eth_tx",
    ):
        if not isinstance(pins, RgmiiPins):
            raise TypeError(f"pins must be RgmiiPins, not {pins!r}")
        if not isinstance(ddr, Ecp5Ddr | SimDdr):
            raise TypeError(f"ddr must be Ecp5Ddr() or SimDdr(), not {ddr!r}")
        if len(pins.rx_data) != 4 or len(pins.tx_data) != 4:
            raise ValueError("RGMII has 4 data pins in each direction")
        _delay_taps(rx_delay_ps)
        _delay_taps(tx_clock_delay_ps)
        self._pins, self._ddr = pins, ddr
        self._rx_delay_ps, self._tx_clock_delay_ps = rx_delay_ps, tx_clock_delay_ps
        self._rx_domain, self._tx_domain = rx_domain, tx_domain
        super().__init__(
            {"gmii_rx": Out(GmiiRxSignature()), "gmii_tx": In(GmiiTxSignature()), "rx_reset": In(1)}
        )

    def elaborate(self, platform):
        m = Module()
        pins, ddr, rxd, txd = self._pins, self._ddr, self._rx_domain, self._tx_domain

        m.submodules.rx_reset = ResetSynchronizer(self.rx_reset, domain=rxd)
        rx_clk = ddr.clock_input(m, f"{rxd}_clk", pins.rx_clk)
        m.d.comb += ClockSignal(rxd).eq(rx_clk)  # constrained on its pin (hdl/boards/boards.py)
        ctl_rise, ctl_fall = ddr.ddr_input(m, "rx_ctl", pins.rx_ctl, rxd, self._rx_delay_ps)
        data_rise, data_fall = ddr.ddr_input(m, "rx_data", pins.rx_data, rxd, self._rx_delay_ps)
        m.d[rxd] += [
            self.gmii_rx.dv.eq(ctl_rise),
            self.gmii_rx.er.eq(ctl_rise ^ ctl_fall),
            self.gmii_rx.data.eq(Cat(data_rise, data_fall)),
        ]

        tx = self.gmii_tx
        ddr.ddr_output(m, "tx_ctl", pins.tx_ctl, txd, tx.en, tx.en ^ tx.er)
        ddr.ddr_output(m, "tx_data", pins.tx_data, txd, tx.data[:4], tx.data[4:])
        ddr.ddr_output(m, "tx_clk", pins.tx_clk, txd, C(1, 1), C(0, 1), self._tx_clock_delay_ps)
        return m
