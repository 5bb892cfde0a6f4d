"""The router's board top: two RGMII ports, their MACs, the managed router core, in-band management.

::

    RGMII 1 ─ PHY ─ MAC 1 ─▶ ManagementPort ─▶ core port 1 ─┐        (when mgmt_port = 1)
                               │   ▲   └──0x88B5──▶ management channel ─ bus ─▶ tables, counters
                               │   └──────────── PACKET_IN / answers ◀─ CPU port
    RGMII 2 ─ PHY ─ MAC 2 ─────────────────────▶ core port 2 ─┘
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from amaranth import Module
from amaranth.lib import wiring

from hdl.mac import EthernetMac
from hdl.mac.rx import MAX_FRAME
from sim.model.codes import PACKET_OUT_HEADER_LEN

from .boards import Board
from .ethernet import add_ethernet_ports, tx_domain
from .mgmt_port import ManagementPort

ETH_FCS = 4
MGMT_OVERHEAD = 14 + 8  # Ethernet and management headers around a PACKET_OUT body


@dataclass(frozen=True)
class CoreBuild:
    """The router core's build parameters on a board (docs/board.md says why these)."""

    width: int = 4
    core_mhz: float = 37.5
    max_frame: int = MAX_FRAME - ETH_FCS  # longest frame, FCS excluded
    lpm_direct_bits: int = 12
    lpm_slot_bits: int = 12
    lpm_action_bits: int = 6
    #: The LPM engine's read pipeline and LUT-RAM threshold (hdl/lpm/engine.py): a
    #: board core runs at a few tens of MHz, which the shallow pipeline meets with
    #: half the deep one's flip-flops.
    lpm_pipeline: str = "shallow"
    lpm_lut_ram_max_depth: int = 32
    arp_rows: int = 128
    arp_slots: int = 2
    local_ip_rows: int = 16

    def lpm_geometry(self):
        from hdl.lpm.geometry import LpmGeometry

        return LpmGeometry(
            direct_bits=self.lpm_direct_bits, slot_bits=self.lpm_slot_bits, action_bits=self.lpm_action_bits
        )

    def managed_router(self, num_ports: int):
        from hdl.lpm.engine import LpmEngine
        from hdl.managed_router import ManagedRouter

        geometry = self.lpm_geometry()
        return ManagedRouter(
            num_ports=num_ports,
            width=self.width,
            lpm=lambda: LpmEngine(
                geometry, pipeline=self.lpm_pipeline, lut_ram_max_depth=self.lpm_lut_ram_max_depth
            ),
            max_frame=self.max_frame,
            arp_rows=self.arp_rows,
            arp_slots=self.arp_slots,
            local_ip_rows=self.local_ip_rows,
        )

    @property
    def mgmt_max_frame(self) -> int:
        """Longest frame the management port's MAC takes: a PACKET_OUT of a maximum frame, FCS included."""
        return MGMT_OVERHEAD + PACKET_OUT_HEADER_LEN + self.max_frame + ETH_FCS


#: The build each board gets by default.
CORE_BUILDS: dict[str, CoreBuild] = {
    "colorlight-5a75b": CoreBuild(lpm_direct_bits=11, arp_rows=256, arp_slots=1),
    "versa-ecp5": CoreBuild(lpm_slot_bits=14, arp_rows=512),
}


class RouterBoardTop(wiring.Component):
    """The router on a board: both RGMII ports routed by the core, one of them also the management port.

    Port ``n`` of the board (``board.rgmii[n - 1]``) is the core's front port
    ``n`` (P4 port ``n``). Port ``mgmt_port`` also carries the management
    channel: its 0x88B5 frames reach :class:`hdl.mgmt_channel.MgmtChannel`
    (table and counter access, PACKET_OUT into the CPU port), and the
    channel's answers and PACKET_INs leave on it between routed frames
    (:class:`ManagementPort`).

    Parameters
    ----------
    board : Board
    build : CoreBuild
        The core's parameters (``CORE_BUILDS[board.name]`` by default).
    width, core_mhz : override ``build``'s datapath width and core clock.
    mgmt_port : int
        The board port (1-based) that carries the management channel.
    simulation : bool
        Build for simulation (:func:`add_ethernet_ports`): SimDdr and clock
        inputs; everything else is the synthesized design.

    Latency and backpressure: those of :class:`EthernetMac` on each port
    (store and forward on receive and transmit), the clock crossings, and
    :class:`hdl.core.RouterCore` (store and forward). A port whose receive
    side the core cannot take (never at line rate, see docs/board.md) fills
    its MAC's packet FIFO, which then drops frames and counts them.
    """

    def __init__(
        self,
        board: Board,
        *,
        build: CoreBuild | None = None,
        width: int | None = None,
        core_mhz: float | None = None,
        mgmt_port: int = 1,
        simulation: bool = False,
    ):
        if not isinstance(board, Board):
            raise TypeError(f"board must be a Board, not {board!r}")
        build = CORE_BUILDS[board.name] if build is None else build
        if width is not None:
            build = replace(build, width=width)
        if core_mhz is not None:
            build = replace(build, core_mhz=core_mhz)
        ports = len(board.rgmii)
        if not isinstance(mgmt_port, int) or not 1 <= mgmt_port <= ports:
            raise ValueError(f"mgmt_port must be a board port 1..{ports}, not {mgmt_port!r}")
        self.board, self.build, self.mgmt_port = board, build, mgmt_port
        self._simulation = simulation
        self.router = build.managed_router(ports)
        self.macs = [
            EthernetMac(
                width=build.width,
                max_frame=build.mgmt_max_frame if n == mgmt_port else build.max_frame + ETH_FCS,
                rx_domain=f"eth{n}_rx",
                tx_domain=tx_domain(n),
            )
            for n in range(1, ports + 1)
        ]
        self.management = ManagementPort(build.width)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        add_ethernet_ports(
            m, platform, self.board, self.macs, core_mhz=self.build.core_mhz, simulation=self._simulation
        )
        m.submodules.router = router = self.router
        m.submodules.management = management = self.management
        for n, mac in enumerate(self.macs, 1):
            index = n - 1
            if n == self.mgmt_port:
                wiring.connect(m, mac.rx, management.line_rx)
                wiring.connect(m, management.line_tx, mac.tx)
                wiring.connect(m, management.core_rx, router.rx[index])
                wiring.connect(m, router.tx[index], management.core_tx)
                wiring.connect(m, management.mgmt_rx, router.mgmt_rx)
                wiring.connect(m, router.mgmt_tx, management.mgmt_tx)
            else:
                wiring.connect(m, mac.rx, router.rx[index])
                wiring.connect(m, router.tx[index], mac.tx)
        return m
