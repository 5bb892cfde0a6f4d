"""Full-chip simulation: the router's board top, as synthesized, on its RGMII pins under Verilator.

The shared corpus's four-port table state is folded onto the board's two
ports (routes out of ports 3 and 4 leave on 1 and 2; the vectors that enter
on ports 1, 2 and the CPU port are kept), each frame is padded to the
Ethernet minimum as a sending MAC would, and the reference model, given the
folded tables, says what must happen to every frame. The testbench
(tb_router_board.py) programs the tables with management frames on the
management port, sends the frames through the PHY models, and reports what
came out of each port, the PACKET_INs and the counters.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter as Multiset

from cocotb_tools.check_results import get_results

from hdl.boards.boards import BOARDS
from hdl.boards.router import RouterBoardTop
from hdl.toolchain import use_yowasp
from sim.model import CPU_PORT, Drop, Forward, Punt, ReferencePipeline, TableState
from sim.vectors import Vector
from tests.hdl.cocotb_jobs import VERILATOR_ARGS, compile_for_cocotb
from tests.hdl.cocotb_router import counters_json
from tests.hdl.mac.harness import BOARD_TOP_INSTANCE, REPO
from tests.hdl.simlib import assert_rejected

BUILD = REPO / "build" / "board-sim"
BOARD = "versa-ecp5"  # the board whose router build fits (docs/board.md)
MIN_PAYLOAD = 60  # what a sending MAC pads a frame to (FCS excluded)


# The PHY model's view: the top's pins plus its own transmit clock, the FPGA's
# forwarded clock delayed by 2 ns (driven by the testbench, which knows the phase).
WRAPPER = (
    """`timescale 1ns/1ps
module board_tb(
  input clk, rst, eth_tx_clk, eth_tx_rst, phy_tx_clk,
  input rgmii1_rx_clk, rgmii1_rx_ctl, input [3:0] rgmii1_rx_data,
  output rgmii1_tx_clk, rgmii1_tx_ctl, output [3:0] rgmii1_tx_data,
  input rgmii2_rx_clk, rgmii2_rx_ctl, input [3:0] rgmii2_rx_data,
  output rgmii2_tx_clk, rgmii2_tx_ctl, output [3:0] rgmii2_tx_data
);
"""
    + BOARD_TOP_INSTANCE
)


def fold_port(port: int) -> int:
    return (port - 1) % 2 + 1


def fold_tables(tables: TableState) -> TableState:
    """``tables`` for two ports: ports 3 and 4 become 1 and 2 wherever a route names them."""
    data = tables.to_json()
    data["num_ports"] = 2
    for key in ("port_macs", "router_macs"):
        if data.get(key) is not None:
            data[key] = {port: mac for port, mac in data[key].items() if int(port) <= 2}
    for route in data["routes"]:
        if "port" in route:
            route["port"] = fold_port(route["port"])
    return TableState.from_json(data)


def on_the_wire(vector: Vector) -> bytes:
    """The frame as the board receives it: front-port frames padded to 60 bytes."""
    if vector.ingress_port == CPU_PORT:
        return vector.frame
    return vector.frame + bytes(max(0, MIN_PAYLOAD - len(vector.frame)))


def padded(frame: bytes) -> bytes:
    return frame + bytes(max(0, MIN_PAYLOAD - len(frame)))


def board_vectors(corpus: list[Vector], max_frame: int) -> tuple[TableState, list[tuple[int, bytes]]]:
    """The four-port table state folded to two ports, and its vectors that enter on 1, 2 or the CPU port.

    Frames longer than the board's ``max_frame`` are left out: the MAC drops
    them (and counts them) before the pipeline sees them.
    """
    four_port = [v for v in corpus if v.tables.num_ports == 4]
    tables = four_port[0].tables
    assert all(v.tables == tables for v in four_port), "the corpus has one four-port table state"
    frames = [
        (v.ingress_port, on_the_wire(v))
        for v in four_port
        if v.ingress_port in (1, 2, CPU_PORT) and v.frame and len(v.frame) <= max_frame
    ]
    # PACKET_OUTs first: each waits for its answer, which queued front-port frames would delay.
    frames.sort(key=lambda item: item[0] != CPU_PORT)
    return fold_tables(tables), frames


def build_simulation(top: RouterBoardTop):
    """Verilate the board top once per version of its Verilog (cached under build/board-sim/)."""
    from amaranth.back import verilog

    use_yowasp()
    source = verilog.convert(top, name="top", emit_src=False)
    digest = hashlib.sha256(source.encode() + WRAPPER.encode()).hexdigest()[:16]
    directory = BUILD / digest
    for stale in BUILD.glob("*"):  # builds of earlier versions of the design
        if stale.is_dir() and stale != directory:
            shutil.rmtree(stale, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "top.v").write_text(source)
    (directory / "board_tb.v").write_text(WRAPPER)
    sources = [directory / "top.v", directory / "board_tb.v"]
    return compile_for_cocotb("verilator", sources, "board_tb", directory, VERILATOR_ARGS), directory


def test_corpus_through_the_board_top_on_its_rgmii_pins(corpus, tmp_path):
    top = RouterBoardTop(BOARDS[BOARD], simulation=True)
    tables, frames = board_vectors(corpus, top.build.max_frame)
    model = ReferencePipeline(tables)
    routed: dict[int, Multiset] = {1: Multiset(), 2: Multiset()}
    packet_ins: Multiset = Multiset()
    outcomes = Multiset()
    for port, frame in frames:
        outcome = model.process(frame, port)
        outcomes[type(outcome).__name__] += 1
        if isinstance(outcome, Forward):
            routed[outcome.port][padded(outcome.frame).hex()] += 1
        elif isinstance(outcome, Punt):
            packet_ins[outcome.packet_in_bytes().hex()] += 1
        else:
            assert isinstance(outcome, Drop)
    assert min(outcomes[kind] for kind in ("Forward", "Punt", "Drop")) >= 10, outcomes
    assert routed[1] and routed[2], "frames leave on both ports"

    job = {
        "core_mhz": top.build.core_mhz,
        "mgmt_port": top.mgmt_port,
        "lpm": {
            "direct_bits": top.build.lpm_direct_bits,
            "slot_bits": top.build.lpm_slot_bits,
            "action_bits": top.build.lpm_action_bits,
        },
        "tables": tables.to_json(),
        "frames": [[port, frame.hex()] for port, frame in frames],
        "expected_counts": {
            "routed": {str(n): sum(found.values()) for n, found in routed.items()},
            "packet_ins": sum(packet_ins.values()),
        },
        "timeout_us": 2000,
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    runner, directory = build_simulation(top)
    results = runner.test(
        test_module="tests.boards.tb_router_board",
        hdl_toplevel="board_tb",
        build_dir=directory,
        test_dir=tmp_path,
        extra_env={"BOARD_JOB": str(tmp_path / "job.json"), "BOARD_RESULT": str(tmp_path / "result.json")},
        timescale=("1ns", "1ps"),
    )
    tests, failures = get_results(results)
    assert tests == 1 and failures == 0, f"the board testbench failed (see {tmp_path})"
    result = json.loads((tmp_path / "result.json").read_text())

    assert result["info"] == {"num_ports": 2, "datapath_bytes": top.build.width}
    for port in (1, 2):
        assert Multiset(result["routed"][str(port)]) == routed[port], f"frames out of port {port}"
    assert Multiset(result["packet_ins"]) == packet_ins, "PACKET_INs on the management port"
    assert result["counters"] == counters_json(model.counters)


def test_the_management_port_must_be_a_board_port():
    assert_rejected(lambda: RouterBoardTop(BOARDS[BOARD], mgmt_port=3), "mgmt_port must be a board port 1..2")
    assert_rejected(lambda: RouterBoardTop(BOARDS[BOARD], mgmt_port=0), "mgmt_port must be a board port 1..2")
