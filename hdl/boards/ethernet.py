"""What every board top shares: clocks, PHY resets, and each RGMII port's PHY adapter wired to its MAC."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth import ClockDomain, ClockSignal, Module, ResetSignal
from amaranth.lib import io, wiring
from amaranth.lib.cdc import ResetSynchronizer

from hdl.mac import EthernetMac
from hdl.mac.rgmii import Ecp5Ddr, RgmiiPhy, RgmiiPins, SimDdr

from .boards import Board
from .clocking import Ecp5Clocking


def tx_domain(port: int) -> str:
    """The clock domain of board port ``port``'s transmit side."""
    return f"eth{port}_tx"


def add_ethernet_ports(
    m: Module,
    platform,
    board: Board,
    macs: Sequence[EthernetMac],
    *,
    core_mhz: float,
    simulation: bool,
) -> None:
    """Add the clocking and one :class:`RgmiiPhy` per MAC (port ``n`` is ``board.rgmii[n - 1]``).

    Each MAC's receive side runs in ``eth{n}_rx`` (the PHY's receive clock),
    its transmit side in ``eth{n}_tx`` (:func:`tx_domain`: the PLL's 125 MHz
    ``eth_tx`` clock, with a reset of its own) and the core in ``sync``
    (``core_mhz``). With ``simulation``, :class:`SimDdr`
    replaces the ECP5 DDR primitives, and ``eth_tx`` and ``sync`` are top-level
    clock and reset inputs (``eth_tx_clk``, ``clk`` ...) instead of the PLL's;
    the RGMII pins are then ports ``rgmii{n}_*``. Nothing else differs.
    """
    if len(macs) != len(board.rgmii):
        raise ValueError(f"{board.name} has {len(board.rgmii)} RGMII ports, not {len(macs)}")
    if simulation:
        pins = [RgmiiPins.for_simulation(f"rgmii{n}") for n in range(1, len(macs) + 1)]
        ddr = SimDdr()
    else:
        m.domains += [ClockDomain("eth_tx"), ClockDomain("sync")]  # driven by the PLL
        m.submodules.clocking = Ecp5Clocking(board.clock, input_mhz=board.clock_mhz, core_mhz=core_mhz)
        resources = [platform.request(*rgmii, dir="-") for rgmii in board.rgmii]
        for n, resource in enumerate(resources, 1):
            if hasattr(resource, "rst"):  # hold the PHY out of reset (the pin is active low)
                m.submodules[f"phy{n}_reset"] = reset = io.Buffer("o", resource.rst)
                m.d.comb += reset.o.eq(0)
        pins = [RgmiiPins.from_resource(resource) for resource in resources]
        ddr = Ecp5Ddr()

    for n, (port_pins, mac) in enumerate(zip(pins, macs, strict=True), 1):
        m.domains += ClockDomain(f"eth{n}_rx")  # here, where both the PHY and the MAC see it
        # One transmit clock, but a reset per port, synchronized beside the port's own logic:
        # one reset flip-flop for both ports' transmit sides spanned the die (7.8 ns of wire).
        # Yosys merges identical flip-flops, and the ports' synchronizers would be identical
        # (one clock, one input), so each is a stage longer than the last: the chains share
        # their first stages, but every port's reset comes from a flip-flop of its own.
        m.domains += ClockDomain(tx_domain(n))
        m.d.comb += ClockSignal(tx_domain(n)).eq(ClockSignal("eth_tx"))
        m.submodules[f"{tx_domain(n)}_reset"] = ResetSynchronizer(
            ResetSignal("eth_tx"), domain=tx_domain(n), stages=1 + n
        )
        phy = RgmiiPhy(
            port_pins,
            ddr=ddr,
            rx_delay_ps=board.rx_delay_ps,
            tx_clock_delay_ps=board.tx_clock_delay_ps,
            rx_domain=f"eth{n}_rx",
            tx_domain=tx_domain(n),
        )
        m.submodules[f"phy{n}"] = phy
        m.submodules[f"mac{n}"] = mac
        m.d.comb += phy.rx_reset.eq(ResetSignal("sync"))  # until the PLL locks (or the test says)
        wiring.connect(m, phy.gmii_rx, mac.gmii_rx)
        wiring.connect(m, mac.gmii_tx, phy.gmii_tx)
