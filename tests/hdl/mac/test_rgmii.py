"""The MAC loopback board top simulated on its RGMII pins (Icarus)."""

from __future__ import annotations

import pytest

from hdl.boards.boards import BOARDS
from hdl.boards.loopback import MacLoopbackTop
from tests.hdl.mac.harness import BOARD_TOP_INSTANCE, run_cocotb

# The PHY model's view of the top: the top's ports, plus the forwarded transmit
# clocks delayed by 2 ns, where the PHY samples its transmit pins.
WRAPPER = (
    """`timescale 1ns/1ps
module loopback_tb;
  reg clk = 0, rst = 0, eth_tx_clk = 0, eth_tx_rst = 0;  // the test raises the resets: an edge
  reg rgmii1_rx_clk = 0, rgmii1_rx_ctl = 0, rgmii2_rx_clk = 0, rgmii2_rx_ctl = 0;
  reg [3:0] rgmii1_rx_data = 0, rgmii2_rx_data = 0;
  wire rgmii1_tx_clk, rgmii1_tx_ctl, rgmii2_tx_clk, rgmii2_tx_ctl;
  wire [3:0] rgmii1_tx_data, rgmii2_tx_data;
  wire rgmii1_phy_tx_clk, rgmii2_phy_tx_clk;
  assign #2 rgmii1_phy_tx_clk = rgmii1_tx_clk;
  assign #2 rgmii2_phy_tx_clk = rgmii2_tx_clk;
"""
    + BOARD_TOP_INSTANCE
)


@pytest.mark.parametrize("board", ["colorlight-5a75b"])
def test_loopback_top_on_rgmii_pins(tmp_path, board):
    run_cocotb(
        MacLoopbackTop(BOARDS[board], width=4, simulation=True),
        toplevel="top",
        test_module="tests.hdl.mac.tb_rgmii_loopback",
        build_dir=tmp_path,
        wrapper=("loopback_tb", WRAPPER),
    )
