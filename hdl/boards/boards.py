"""The boards we build for, and what each one's PHYs need."""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.build import Attrs, Clock, Resource, Subsignal
from amaranth_boards.colorlight_5a75b_r7_0 import Colorlight_5A75B_R70Platform
from amaranth_boards.versa_ecp5 import VersaECP5Platform


def _rgmii_resources(resources: list, *, drop_shared_pins: bool) -> list:
    """``resources`` with each RGMII receive clock constrained to 125 MHz on its pin.

    With ``drop_shared_pins``, the second PHY loses its reset, MDC and MDIO pins: both
    Colorlight PHYs hang off the same ones, amaranth-boards lists them in both
    resources, and one pin cannot be placed twice.
    """
    result = []
    for resource in resources:
        if resource.name == "eth_rgmii":
            subsignals = []
            for io in resource.ios:
                if drop_shared_pins and resource.number == 1 and io.name in ("rst", "mdc", "mdio"):
                    continue
                if io.name == "rx_clk":
                    io = Subsignal(io.name, *io.ios, Clock(125e6), Attrs(**io.attrs))
                subsignals.append(io)
            resource = Resource("eth_rgmii", resource.number, *subsignals, Attrs(**resource.attrs))
        result.append(resource)
    return result


class Colorlight5A75BPlatform(Colorlight_5A75B_R70Platform):
    """Colorlight 5A-75B v7.0 for our tops (see ``_rgmii_resources``)."""

    resources = _rgmii_resources(Colorlight_5A75B_R70Platform.resources, drop_shared_pins=True)


class VersaEcp5Platform(VersaECP5Platform):
    """Lattice ECP5 Versa for our tops (see ``_rgmii_resources``)."""

    resources = _rgmii_resources(VersaECP5Platform.resources, drop_shared_pins=False)


@dataclass(frozen=True)
class Board:
    """A board: its platform, oscillator, RGMII ports and the delays its PHYs need.

    ``rx_delay_ps`` delays the received data in the FPGA; ``tx_clock_delay_ps``
    delays the forwarded transmit clock. Zero where the PHY adds the delay itself.
    """

    name: str
    platform: type
    clock: tuple[str, int]
    clock_mhz: float
    rgmii: tuple[tuple[str, int], ...]
    rx_delay_ps: int
    tx_clock_delay_ps: int
    phy: str


BOARDS: dict[str, Board] = {
    board.name: board
    for board in (
        # Broadcom B50612D: delays its own transmit clock (RGMII-TXID strapping), not the receive one.
        Board(
            name="colorlight-5a75b",
            platform=Colorlight5A75BPlatform,
            clock=("clk25", 0),
            clock_mhz=25.0,
            rgmii=(("eth_rgmii", 0), ("eth_rgmii", 1)),
            rx_delay_ps=2000,
            tx_clock_delay_ps=0,
            phy="Broadcom B50612D",
        ),
        # Marvell 88E1512 in plain RGMII mode: the FPGA adds both delays.
        Board(
            name="versa-ecp5",
            platform=VersaEcp5Platform,
            clock=("clk100", 0),
            clock_mhz=100.0,
            rgmii=(("eth_rgmii", 0), ("eth_rgmii", 1)),
            rx_delay_ps=2000,
            tx_clock_delay_ps=2000,
            phy="Marvell 88E1512",
        ),
    )
}
