"""A board top that loops two RGMII ports through their MACs: the first synthesis target."""

from __future__ import annotations

from amaranth import Module, ResetSignal
from amaranth.lib import io, wiring

from hdl.mac import EthernetMac
from hdl.mac.rgmii import Ecp5Ddr, RgmiiPhy, RgmiiPins, SimDdr

from .boards import Board
from .clocking import Ecp5Clocking


class MacLoopbackTop(wiring.Component):
    """Port 1's received frames are sent on port 2 and the other way round.

    Each port is RGMII pins, :class:`RgmiiPhy`, :class:`EthernetMac`; the two
    MACs meet in the core clock domain (``sync``) at ``width`` bytes per beat,
    so the path exercises everything the router's board top has except the core.

    Parameters
    ----------
    board : Board
    width : int
        Core datapath width in bytes.
    core_mhz : float
        Core clock made by the PLL.
    simulation : bool
        Build for simulation: :class:`SimDdr` in place of the ECP5 DDR primitives,
        and the ``eth_tx`` and ``sync`` clocks as inputs (``eth_tx_clk``, ``clk``
        and their resets) in place of the PLL. The RGMII pins are top-level ports
        ``rgmii1_*`` and ``rgmii2_*``. Everything else is the synthesized design.
    """

    def __init__(self, board: Board, *, width: int = 4, core_mhz: float = 100.0, simulation: bool = False):
        if not isinstance(board, Board):
            raise TypeError(f"board must be a Board, not {board!r}")
        self._board, self._width, self._simulation = board, width, simulation
        self._core_mhz = core_mhz
        self.macs = [EthernetMac(width=width, rx_domain=f"eth{n}_rx", tx_domain="eth_tx") for n in (1, 2)]
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        board = self._board
        if self._simulation:
            pins = [RgmiiPins.for_simulation(f"rgmii{n}") for n in (1, 2)]
            ddr = SimDdr()
        else:
            m.submodules.clocking = Ecp5Clocking(
                board.clock, input_mhz=board.clock_mhz, core_mhz=self._core_mhz
            )
            resources = [platform.request(*rgmii, dir="-") for rgmii in board.rgmii]
            for n, resource in enumerate(resources, 1):
                if hasattr(resource, "rst"):  # hold the PHY out of reset (the pin is active low)
                    m.submodules[f"phy{n}_reset"] = reset = io.Buffer("o", resource.rst)
                    m.d.comb += reset.o.eq(0)
            pins = [RgmiiPins.from_resource(resource) for resource in resources]
            ddr = Ecp5Ddr()

        for n, (port_pins, mac) in enumerate(zip(pins, self.macs, strict=True), 1):
            phy = RgmiiPhy(
                port_pins,
                ddr=ddr,
                rx_delay_ps=board.rx_delay_ps,
                tx_clock_delay_ps=board.tx_clock_delay_ps,
                rx_domain=f"eth{n}_rx",
                tx_domain="eth_tx",
            )
            m.submodules[f"phy{n}"] = phy
            m.submodules[f"mac{n}"] = mac
            m.d.comb += phy.rx_reset.eq(ResetSignal("sync"))  # until the PLL locks (or the test says)
            wiring.connect(m, phy.gmii_rx, mac.gmii_rx)
            wiring.connect(m, mac.gmii_tx, phy.gmii_tx)

        first, second = self.macs
        wiring.connect(m, first.rx, second.tx)
        wiring.connect(m, second.rx, first.tx)
        return m
