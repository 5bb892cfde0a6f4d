"""The MAC's cocotb tests on its generated Verilog (Icarus), GMII on the line side."""

from __future__ import annotations

import pytest
from amaranth.back import rtlil

from hdl.mac import EthernetMac
from hdl.mac.packet_fifo import PacketFifo
from tests.hdl.mac.harness import run_cocotb
from tests.hdl.simlib import assert_rejected


@pytest.mark.parametrize("width", [1, 4])
def test_receive_checks_and_transmit(tmp_path, width):
    run_cocotb(
        EthernetMac(width=width),
        toplevel="mac",
        test_module="tests.hdl.mac.tb_mac",
        build_dir=tmp_path,
        testcase=["receive_checks", "transmit_pads_and_keeps_the_gap"],
    )


@pytest.mark.parametrize("width", [8])
def test_sizes_back_to_back(tmp_path, width):
    """Every size from 60 to 140 bytes and the largest ones; the full sweep is in make bench."""
    run_cocotb(
        EthernetMac(width=width),
        toplevel="mac",
        test_module="tests.hdl.mac.tb_mac",
        build_dir=tmp_path,
        testcase=["every_size_back_to_back"],
        extra_env={"MAC_SIZES": "60-140,1510-1514"},
    )


def test_jumbo_frames(tmp_path):
    """With max_frame 9018: a 9018-byte frame passes, 9019 bytes and more are oversize."""
    run_cocotb(
        EthernetMac(width=4, max_frame=9018, rx_fifo_depth=16384, tx_fifo_depth=16384),
        toplevel="mac",
        test_module="tests.hdl.mac.tb_mac",
        build_dir=tmp_path,
        testcase=["receive_checks"],
        extra_env={"MAC_MAX_FRAME": "9018"},
    )


def test_packet_fifo_block_ram_options() -> None:
    """On ECP5 the packet FIFO's RAM is a DP16KD read through its output register
    (the inferred memory plus a register is what the simulations above run)."""
    ecp5 = rtlil.convert(PacketFifo(2048, block_ram="ecp5"))
    assert "DP16KD" in ecp5 and '"OUTREG"' in ecp5
    assert "DP16KD" not in rtlil.convert(PacketFifo(2048, block_ram="inferred"))
    assert_rejected(lambda: PacketFifo(4096, block_ram="ecp5"), "2048")
    assert_rejected(lambda: PacketFifo(2048, block_ram="distributed"), "block_ram")
