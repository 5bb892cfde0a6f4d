"""cocotb testbench for the MAC loopback board top on its RGMII pins.

The simulated top is the synthesized one with SimDdr in place of the ECP5 DDR
primitives and clock inputs in place of the PLL. Each PHY is modelled by
cocotbext-eth: RgmiiSource drives the receive pins on the PHY's own 125 MHz
clock, and RgmiiSink samples the transmit pins on the FPGA's forwarded
``tx_clk`` delayed by 2 ns (the wrapper in test_rgmii.py), as the PHY does.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer, with_timeout
from cocotbext.eth import GmiiFrame, RgmiiSink, RgmiiSource

from tests.hdl.mac.ethframes import WireFrame, padded


def ports(dut, n: int) -> tuple[RgmiiSource, RgmiiSink]:
    source = RgmiiSource(
        getattr(dut, f"rgmii{n}_rx_data"), getattr(dut, f"rgmii{n}_rx_ctl"), getattr(dut, f"rgmii{n}_rx_clk")
    )
    sink = RgmiiSink(
        getattr(dut, f"rgmii{n}_tx_data"),
        getattr(dut, f"rgmii{n}_tx_ctl"),
        getattr(dut, f"rgmii{n}_phy_tx_clk"),
    )
    return source, sink


async def expect(sink: RgmiiSink, payloads: list[bytes], port: int) -> None:
    for index, payload in enumerate(payloads):
        frame: GmiiFrame = await with_timeout(sink.recv(), 200, "us")
        assert frame.get_preamble() == b"\x55" * 7 + b"\xd5", f"port {port} frame {index}: preamble"
        assert frame.check_fcs(), f"port {port} frame {index}: bad FCS"
        assert frame.error is None, f"port {port} frame {index}: sent with an error"
        assert frame.get_payload() == padded(payload), f"port {port} frame {index}: wrong payload"


@cocotb.test()
async def frames_cross_between_ports(dut):
    """Frames into port 1 leave port 2 and the other way round; bad ones are dropped."""
    cocotb.start_soon(Clock(dut.rgmii1_rx_clk, 8000, unit="ps").start())
    cocotb.start_soon(Clock(dut.rgmii2_rx_clk, 8002, unit="ps").start())
    cocotb.start_soon(Clock(dut.eth_tx_clk, 7998, unit="ps").start())
    cocotb.start_soon(Clock(dut.clk, 10000, unit="ps").start())
    dut.rst.value = 1
    dut.eth_tx_rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    dut.eth_tx_rst.value = 0
    await ClockCycles(dut.clk, 4)  # the PHY models start once the reset has settled the pins

    rng = random.Random(7)
    source1, sink1 = ports(dut, 1)
    source2, sink2 = ports(dut, 2)
    to_port2 = [
        WireFrame(bytes(rng.getrandbits(8) for _ in range(n))) for n in (60, 61, 64, 67, 100, 1514, 60)
    ]
    to_port1 = [WireFrame(bytes(rng.getrandbits(8) for _ in range(n))) for n in (1514, 63, 200, 60, 60, 60)]
    to_port2.insert(3, WireFrame(bytes(80), bad_fcs=True))
    to_port1.insert(1, WireFrame(bytes(30)))  # a runt
    for frame in to_port2:
        await source1.send(frame.gmii())
    for frame in to_port1:
        await source2.send(frame.gmii())
    good = lambda frames: [f.payload for f in frames if f.verdict() == "frames_ok"]  # noqa: E731
    await expect(sink2, good(to_port2), 2)
    await expect(sink1, good(to_port1), 1)
    await Timer(2, "us")
    assert sink1.empty() and sink2.empty(), "frames came out that should have been dropped"
