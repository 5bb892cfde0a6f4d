"""The router core's Verilog for cocotb, in two forms made from one RTLIL design.

* :func:`amaranth_verilog` is what Amaranth's Verilog back end writes (the
  text :func:`hdl.axis.generate_verilog` returns): Yosys ``proc -nomux``
  keeps every process as an ``always @*`` block. Verilator compiles it.
* :func:`netlist_verilog` is the same design for Icarus. Icarus runs an
  ``always @*`` block only when a signal it reads changes, never at time 0,
  so a block that reads only constants, or only registers still holding
  their initial values, never drives its outputs and the pipeline stalls.
  (Making every block ``always_comb`` fixes that but runs under 30 cycles
  per second, because Icarus makes such a block sensitive to the whole of
  every vector it reads a slice of.) Here Yosys lowers every process to
  multiplexers (full ``proc``), so combinational logic comes out as
  continuous ``assign`` statements, which Icarus evaluates at time 0 like
  any netlist. Registers and memories stay as they are: no flattening, no
  techmap, no optimization beyond removing unused wires.

Converting to RTLIL is the slow part (Amaranth's combinational-loop check:
minutes at width 8), so both forms start from one :func:`router_rtlil`.
"""

from __future__ import annotations

import os
import subprocess

from amaranth.back import rtlil, verilog

from hdl.axis import AxisRouter
from hdl.core import RouterCore
from hdl.toolchain import use_yowasp

TOP = "router_top"

NETLIST_SCRIPT = """read_rtlil <<rtlil
{design}
rtlil
proc
opt_clean
memory_collect
write_verilog -noattr
"""


def router_rtlil(core: RouterCore) -> str:
    """``core`` behind its AXI4-Stream ports (:class:`hdl.axis.AxisRouter`), top module ``router_top``."""
    return rtlil.convert(AxisRouter(core), name=TOP)


def amaranth_verilog(design: str) -> str:
    """Amaranth's own Verilog of an RTLIL ``design``, byte for byte what ``verilog.convert`` writes.

    ``verilog.convert`` is ``rtlil.convert`` followed by this step, a private
    function of Amaranth 0.5 (pinned in pyproject.toml).
    """
    use_yowasp()
    return verilog._convert_rtlil_text(design)


def netlist_verilog(design: str) -> str:
    """An RTLIL ``design`` as Verilog with no ``always @*`` blocks (for Icarus)."""
    use_yowasp()
    script = NETLIST_SCRIPT.format(design=design)
    done = subprocess.run([os.environ["YOSYS"], "-q", "-"], input=script, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"yosys failed on the Icarus netlist:\n{done.stderr or done.stdout}")
    return done.stdout
