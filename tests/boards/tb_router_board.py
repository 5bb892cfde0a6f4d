"""cocotb testbench: the router's board top on its RGMII pins (run by test_router_board.py).

The simulated top is the synthesized one with SimDdr in place of the ECP5 DDR
primitives and clock inputs in place of the PLL. Each PHY is cocotbext-eth's
RgmiiSource on the PHY's own receive clock and RgmiiSink on the FPGA's
transmit clock delayed by 2 ns (``phy_tx_clk``, as the PHY samples it). The
host on the management port programs the tables with management frames
(:mod:`sim.hdl_target.mgmt_protocol`) through :class:`hdl.driver.CoreDriver`,
the job's frames go in on their ports, and everything that comes out, the
PACKET_INs and the counters, is written to ``$BOARD_RESULT`` for the pytest
side to judge against the reference model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.queue import Queue
from cocotb.triggers import ClockCycles, Timer, with_timeout
from cocotbext.eth import GmiiFrame, RgmiiSink, RgmiiSource

from hdl.driver import CoreDriver
from hdl.lpm.compiler import LpmCompiler
from hdl.lpm.geometry import LpmGeometry
from sim.hdl_target.mgmt_protocol import (
    ETHERTYPE_MGMT,
    DeviceInfo,
    Message,
    Opcode,
    Status,
    decode_words,
    read_request,
    write_request,
)
from sim.model import CPU_PORT, TableState
from tests.hdl.cocotb_router import counters_json

HOST_MAC = bytes.fromhex("020000ff0001")
PREAMBLE = b"\x55" * 7 + b"\xd5"
ANSWER_TIMEOUT_US = 200
RGMII_PERIOD_PS = 8000
PHY_TX_CLOCK_DELAY_PS = 2000


class BoardPort:
    """One RGMII port's PHY model; every frame the board sends is checked and filed."""

    def __init__(self, dut, number: int):
        self.number = number
        self.source = RgmiiSource(
            getattr(dut, f"rgmii{number}_rx_data"),
            getattr(dut, f"rgmii{number}_rx_ctl"),
            getattr(dut, f"rgmii{number}_rx_clk"),
        )
        self.sink = RgmiiSink(
            getattr(dut, f"rgmii{number}_tx_data"), getattr(dut, f"rgmii{number}_tx_ctl"), dut.phy_tx_clk
        )
        self.routed: list[bytes] = []  # frames other than management frames
        self.answers: Queue[Message] = Queue()
        self.packet_ins: list[bytes] = []

    async def send(self, frame: bytes) -> None:
        await self.source.send(GmiiFrame.from_payload(frame))

    async def receive_forever(self) -> None:
        while True:
            frame: GmiiFrame = await self.sink.recv()
            where = f"port {self.number}, frame {len(self.routed)}"
            assert frame.get_preamble() == PREAMBLE, f"{where}: bad preamble {frame.get_preamble().hex()}"
            assert frame.check_fcs(), f"{where}: bad FCS"
            assert frame.error is None or not any(frame.error), f"{where}: sent with a GMII error"
            payload = bytes(frame.get_payload())
            if int.from_bytes(payload[12:14], "big") != ETHERTYPE_MGMT:
                self.routed.append(payload)
                continue
            message = Message.decode(payload[14:])
            if message.opcode == Opcode.PACKET_IN:
                self.packet_ins.append(message.body)
            else:
                self.answers.put_nowait(message)


class FrameMgmtBus:
    """:class:`hdl.driver.MgmtBus` over management frames on a board port: one word per request."""

    def __init__(self, port: BoardPort):
        self.port = port
        self.sequence = 0
        self.header = b"\xff" * 6 + HOST_MAC + ETHERTYPE_MGMT.to_bytes(2, "big")
        self.requests = 0

    async def request(self, build) -> Message:
        self.sequence = (self.sequence + 1) & 0xFFFF
        request: Message = build(self.sequence)
        await self.port.send(self.header + request.encode())
        self.requests += 1
        answer = await with_timeout(self.port.answers.get(), ANSWER_TIMEOUT_US, "us")
        assert (answer.opcode, answer.sequence) == (request.opcode, request.sequence), "answer out of turn"
        assert answer.status == Status.OK, f"{Opcode(request.opcode).name} refused: status {answer.status}"
        return answer

    async def read(self, address: int) -> int:
        answer = await self.request(lambda seq: read_request(seq, address, 1))
        return decode_words(answer.body)[1][0]

    async def write(self, address: int, data: int) -> None:
        await self.request(lambda seq: write_request(seq, address, [data]))


async def start(dut, core_mhz: float) -> None:
    """The clocks (the PHYs' own receive clocks a little off the board's 125 MHz) and the resets."""
    core_period = 2 * round(1e6 / core_mhz / 2)  # even: a high and a low half of whole picoseconds
    for clock, period in (
        (dut.rgmii1_rx_clk, RGMII_PERIOD_PS),
        (dut.rgmii2_rx_clk, RGMII_PERIOD_PS + 2),
        (dut.eth_tx_clk, RGMII_PERIOD_PS),
        (dut.clk, core_period),
    ):
        cocotb.start_soon(Clock(clock, period, unit="ps").start())
    dut.rst.value = 1
    dut.eth_tx_rst.value = 1
    dut.phy_tx_clk.value = 0
    await Timer(PHY_TX_CLOCK_DELAY_PS, "ps")
    cocotb.start_soon(Clock(dut.phy_tx_clk, RGMII_PERIOD_PS, unit="ps").start())
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    dut.eth_tx_rst.value = 0
    await ClockCycles(dut.clk, 8)


@cocotb.test()
async def router_board_on_its_pins(dut):
    """Program the tables in band, send the job's frames, collect what leaves every port."""
    job = json.loads(Path(os.environ["BOARD_JOB"]).read_text())
    await start(dut, job["core_mhz"])
    ports = {n: BoardPort(dut, n) for n in (1, 2)}
    for port in ports.values():
        cocotb.start_soon(port.receive_forever())
    mgmt = ports[job["mgmt_port"]]
    bus = FrameMgmtBus(mgmt)

    info = DeviceInfo.decode((await bus.request(lambda seq: Message(Opcode.INFO, seq))).body)
    driver = CoreDriver(bus, LpmCompiler(LpmGeometry(**job["lpm"])))
    await driver.connect()
    await driver.install(TableState.from_json(job["tables"]))
    installed = bus.requests
    dut._log.info(
        "tables installed with %d management requests at %s", installed, cocotb.utils.get_sim_time("us")
    )

    for number, frame_hex in job["frames"]:
        frame = bytes.fromhex(frame_hex)
        if number == CPU_PORT:
            await bus.request(lambda seq, f=frame: Message(Opcode.PACKET_OUT, seq, body=f))
        else:
            await ports[number].send(frame)

    expected = job["expected_counts"]

    def arrived() -> bool:
        return all(len(ports[int(n)].routed) >= count for n, count in expected["routed"].items()) and (
            len(mgmt.packet_ins) >= expected["packet_ins"]
        )

    for _ in range(job["timeout_us"]):
        if arrived():
            break
        await Timer(1, "us")
    await Timer(20, "us")  # anything more that comes out is an error the pytest side reports
    counters = (await driver.read_counters()).counters
    result = {
        "info": {"num_ports": info.num_ports, "datapath_bytes": info.datapath_bytes},
        "routed": {str(n): [f.hex() for f in port.routed] for n, port in ports.items()},
        "packet_ins": [body.hex() for body in mgmt.packet_ins],
        "counters": counters_json(counters),
        "install_requests": installed,
        "sim_us": cocotb.utils.get_sim_time("us"),
    }
    Path(os.environ["BOARD_RESULT"]).write_text(json.dumps(result))
