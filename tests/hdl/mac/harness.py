"""Build an Amaranth design to Verilog and run cocotb testbenches on it (Icarus or Verilator).

``cocotb_tools.runner`` reports failing tests only in its results file, so
:func:`run_cocotb` reads that file and fails loudly.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from amaranth.back import verilog
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from hdl.toolchain import use_yowasp

REPO = Path(__file__).resolve().parents[3]


# Yosys writes combinational logic as `always @*` blocks, which Icarus runs only when an
# input changes: an output whose inputs keep their initial values would stay X, where a
# netlist settles. So each block also reads a register that every module flips at time 0.
#: A board top (both RGMII ports and its clocks) instantiated as ``dut`` by a
#: testbench wrapper whose ports carry the same names; ends the wrapper module.
BOARD_TOP_INSTANCE = """  top dut(
    .clk(clk), .rst(rst), .eth_tx_clk(eth_tx_clk), .eth_tx_rst(eth_tx_rst),
    .rgmii1_rx_clk(rgmii1_rx_clk), .rgmii1_rx_ctl(rgmii1_rx_ctl), .rgmii1_rx_data(rgmii1_rx_data),
    .rgmii1_tx_clk(rgmii1_tx_clk), .rgmii1_tx_ctl(rgmii1_tx_ctl), .rgmii1_tx_data(rgmii1_tx_data),
    .rgmii2_rx_clk(rgmii2_rx_clk), .rgmii2_rx_ctl(rgmii2_rx_ctl), .rgmii2_rx_data(rgmii2_rx_data),
    .rgmii2_tx_clk(rgmii2_tx_clk), .rgmii2_tx_ctl(rgmii2_tx_ctl), .rgmii2_tx_data(rgmii2_tx_data)
  );
endmodule
"""

_KICK = "twinrouter_sim_kick"
_MODULE_HEADER = re.compile(r"^(module [^;]*;)$", re.MULTILINE)
_BLOCK_START = re.compile(r"always @\* begin\n")
_SINGLE_STATEMENT = re.compile(r"always @\*\n(\s+)([^\n]*;)\n")


def _run_combinational_blocks_at_start(text: str) -> str:
    declare = f"\\1\n  reg {_KICK} = 1'b0;\n  initial #0 {_KICK} = 1'b1;"
    text = _MODULE_HEADER.sub(declare, text)
    text = _BLOCK_START.sub(f"always @* begin\n    if ({_KICK}) begin end\n", text)
    return _SINGLE_STATEMENT.sub(f"always @* begin\n\\1if ({_KICK}) begin end\n\\1\\2\n  end\n", text)


def write_verilog(component, name: str, build_dir: Path) -> Path:
    """Convert ``component`` to ``build_dir/name.v`` for simulation; return the path."""
    use_yowasp()
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / f"{name}.v"
    path.write_text(_run_combinational_blocks_at_start(verilog.convert(component, name=name, emit_src=False)))
    return path


def run_cocotb(
    component,
    *,
    toplevel: str,
    test_module: str,
    build_dir: Path,
    simulator: str = "icarus",
    testcase: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
    wrapper: tuple[str, str] | None = None,
) -> None:
    """Simulate ``component`` (module ``toplevel``) with the cocotb tests in ``test_module``;
    raise if any failed. ``wrapper``, a (module name, Verilog text) pair, is a
    testbench module around it that becomes the simulation's top instead."""
    sources = [write_verilog(component, toplevel, build_dir)]
    if wrapper is not None:
        toplevel, text = wrapper
        sources.append(build_dir / f"{toplevel}.v")
        sources[-1].write_text(text)
    runner = get_runner(simulator)
    build_args = ["-Wno-fatal", "-Wno-WIDTH"] if simulator == "verilator" else []
    runner.build(
        sources=sources,
        hdl_toplevel=toplevel,
        build_dir=build_dir,
        build_args=build_args,
        timescale=("1ns", "1ps"),
        always=True,
    )
    # The runner hands the simulator this process's sys.path as PYTHONPATH; the
    # testbenches import `tests.…` and `hdl.…` from the repository.
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    env = dict(extra_env or {})
    results = runner.test(
        test_module=test_module,
        hdl_toplevel=toplevel,
        build_dir=build_dir,
        test_dir=build_dir,
        testcase=testcase,
        extra_env=env,
        timescale=("1ns", "1ps"),
    )
    tests, failures = get_results(results)
    assert tests > 0, f"cocotb ran no tests from {test_module}"
    assert failures == 0, f"{failures} of {tests} cocotb tests in {test_module} failed (see {build_dir})"
