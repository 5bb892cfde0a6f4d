"""A board top that loops two RGMII ports through their MACs: the first synthesis target."""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import wiring

from hdl.mac import EthernetMac

from .boards import Board
from .ethernet import add_ethernet_ports, tx_domain


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
        Build for simulation (see :func:`add_ethernet_ports`).
    """

    def __init__(self, board: Board, *, width: int = 4, core_mhz: float = 100.0, simulation: bool = False):
        if not isinstance(board, Board):
            raise TypeError(f"board must be a Board, not {board!r}")
        self._board, self._width, self._simulation = board, width, simulation
        self._core_mhz = core_mhz
        self.macs = [EthernetMac(width=width, rx_domain=f"eth{n}_rx", tx_domain=tx_domain(n)) for n in (1, 2)]
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        add_ethernet_ports(
            m, platform, self._board, self.macs, core_mhz=self._core_mhz, simulation=self._simulation
        )
        first, second = self.macs
        wiring.connect(m, first.rx, second.tx)
        wiring.connect(m, second.rx, first.tx)
        return m
