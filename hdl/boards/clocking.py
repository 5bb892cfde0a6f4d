"""Clock generation for the board tops: an ECP5 PLL, or plain clock inputs in simulation."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth import ClockSignal, Instance, Module, Signal
from amaranth.lib import io, wiring
from amaranth.lib.cdc import ResetSynchronizer

VCO_MIN_MHZ, VCO_MAX_MHZ = 400, 800
PFD_MIN_MHZ = 10


@dataclass(frozen=True)
class PllPlan:
    """``EHXPLLL`` dividers: ``CLKOP = input / input_div * feedback_div``; the VCO runs
    at ``CLKOP * primary_div``; ``CLKOS = VCO / secondary_div``."""

    input_mhz: float
    input_div: int
    feedback_div: int
    primary_div: int
    secondary_div: int

    @property
    def primary_mhz(self) -> float:
        return self.input_mhz / self.input_div * self.feedback_div

    @property
    def vco_mhz(self) -> float:
        return self.primary_mhz * self.primary_div

    @property
    def secondary_mhz(self) -> float:
        return self.vco_mhz / self.secondary_div

    def check(self) -> None:
        if not VCO_MIN_MHZ <= self.vco_mhz <= VCO_MAX_MHZ:
            raise ValueError(f"PLL VCO at {self.vco_mhz} MHz is outside {VCO_MIN_MHZ}..{VCO_MAX_MHZ} MHz")
        if self.input_mhz / self.input_div < PFD_MIN_MHZ:
            raise ValueError(f"PLL phase detector below {PFD_MIN_MHZ} MHz")


def plan_pll(input_mhz: float, primary_mhz: float, secondary_mhz: float) -> PllPlan:
    """Dividers that make ``primary_mhz`` and ``secondary_mhz`` exactly from ``input_mhz``."""
    for input_div in range(1, 129):
        for feedback_div in range(1, 129):
            if abs(input_mhz / input_div * feedback_div - primary_mhz) > 1e-9:
                continue
            for primary_div in range(1, 129):
                vco = primary_mhz * primary_div
                if not VCO_MIN_MHZ <= vco <= VCO_MAX_MHZ:
                    continue
                secondary_div = round(vco / secondary_mhz)
                plan = PllPlan(input_mhz, input_div, feedback_div, primary_div, secondary_div)
                if 1 <= secondary_div <= 128 and abs(plan.secondary_mhz - secondary_mhz) < 1e-9:
                    plan.check()
                    return plan
    raise ValueError(f"no ECP5 PLL makes {primary_mhz} and {secondary_mhz} MHz from {input_mhz} MHz")


class Ecp5Clocking(wiring.Component):
    """Drives the ``eth_tx`` (125 MHz, primary output) and ``sync`` (core) clock domains
    from a board oscillator with one ``EHXPLLL``; both held in reset until the PLL locks.
    The caller defines the two domains, where everything that uses them sees them.

    Parameters
    ----------
    clock_resource : tuple[str, int]
        The board's oscillator, as ``platform.request`` takes it.
    input_mhz, core_mhz : float
    """

    def __init__(self, clock_resource: tuple[str, int], *, input_mhz: float, core_mhz: float):
        self._resource = clock_resource
        self.plan = plan_pll(input_mhz, 125.0, core_mhz)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        m.submodules.clk_in = clk_in_buffer = io.Buffer("i", platform.request(*self._resource, dir="-"))
        clk_in = clk_in_buffer.i
        tx_clk, core_clk, locked = Signal(), Signal(), Signal()
        m.submodules.pll = Instance(
            "EHXPLLL",
            p_PLLRST_ENA="DISABLED",
            p_INTFB_WAKE="DISABLED",
            p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED",
            p_OUTDIVIDER_MUXA="DIVA",
            p_OUTDIVIDER_MUXB="DIVB",
            p_FEEDBK_PATH="CLKOP",
            p_CLKI_DIV=plan.input_div,
            p_CLKFB_DIV=plan.feedback_div,
            p_CLKOP_ENABLE="ENABLED",
            p_CLKOP_DIV=plan.primary_div,
            p_CLKOP_CPHASE=plan.primary_div - 1,
            p_CLKOP_FPHASE=0,
            p_CLKOS_ENABLE="ENABLED",
            p_CLKOS_DIV=plan.secondary_div,
            p_CLKOS_CPHASE=plan.secondary_div - 1,
            p_CLKOS_FPHASE=0,
            a_FREQUENCY_PIN_CLKI=f"{plan.input_mhz:g}",
            a_FREQUENCY_PIN_CLKOP=f"{plan.primary_mhz:g}",
            a_FREQUENCY_PIN_CLKOS=f"{plan.secondary_mhz:g}",
            a_ICP_CURRENT="12",
            a_LPF_RESISTOR="8",
            i_CLKI=clk_in,
            i_CLKFB=tx_clk,
            i_RST=0,
            i_STDBY=0,
            i_PHASESEL0=0,
            i_PHASESEL1=0,
            i_PHASEDIR=1,
            i_PHASESTEP=1,
            i_PHASELOADREG=1,
            i_PLLWAKESYNC=0,
            i_ENCLKOP=0,
            o_CLKOP=tx_clk,
            o_CLKOS=core_clk,
            o_LOCK=locked,
        )
        platform.add_clock_constraint(tx_clk, plan.primary_mhz * 1e6)
        platform.add_clock_constraint(core_clk, plan.secondary_mhz * 1e6)
        m.d.comb += [ClockSignal("eth_tx").eq(tx_clk), ClockSignal("sync").eq(core_clk)]
        m.submodules.eth_tx_reset = ResetSynchronizer(~locked, domain="eth_tx")
        m.submodules.sync_reset = ResetSynchronizer(~locked, domain="sync")
        return m
