"""Board benchmarks: both boards' synthesis (the router top, and the MAC loopback top), and the
MAC's full frame-size sweep in simulation.

Prints, per board, top and core datapath width, the utilization and nextpnr's
Fmax per clock, and whether every clock met its constraint; a build that does
not fit its device is reported as such (docs/board.md). Then the time the full
60..1514-byte sweep takes through the MAC in Icarus.

``BOARD_BENCH`` picks the parts: ``synth``, ``sweep`` or both (the default).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from hdl.boards.boards import BOARDS
from hdl.boards.router import CORE_BUILDS
from hdl.boards.synth import synthesize
from hdl.mac import EthernetMac
from tests.hdl.mac.harness import run_cocotb

#: (top, width) per board: the router at its build's width and at 8 bytes, the loopback at 4.
BUILDS = [("router", None), ("router", 8), ("mac-loopback", 4)]


def sweep() -> None:
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as build:
        run_cocotb(
            EthernetMac(width=8),
            toplevel="mac",
            test_module="tests.hdl.mac.tb_mac",
            build_dir=Path(build),
            testcase=["every_size_back_to_back"],
            extra_env={"MAC_SIZES": "60-1514"},
        )
    print(
        f"MAC every size 60..1514 back to back (width 8, Icarus): passed in {time.monotonic() - start:.0f} s"
    )


def synthesis() -> None:
    print(
        f"{'board':18} {'top':13} {'W':>2} {'LUT4':>6} {'FF':>6} {'EBR':>4}  Fmax MHz per clock (constraint)"
    )
    for board in sorted(BOARDS):
        for top, width in BUILDS:
            if top == "router" and width == CORE_BUILDS[board].width:
                continue  # the default build already covers it
            shown = width or CORE_BUILDS[board].width
            try:
                report = synthesize(board, top=top, width=width)
            except RuntimeError as error:  # nextpnr gives up when the design does not fit
                reason = next((line for line in str(error).splitlines() if "ERROR" in line), "build failed")
                print(f"{board:18} {top:13} {shown:>2}  {reason.strip()}")
                continue
            used = {name: used for name, (used, _) in report.utilization.items()}
            clocks = ", ".join(
                f"{c.clock.removeprefix('$glbnet$')} {c.achieved_mhz:.1f} ({c.constraint_mhz:.1f})"
                for c in report.clocks
            )
            verdict = "met" if report.timing_met else "NOT MET"
            print(
                f"{board:18} {top:13} {shown:>2} {used.get('LUT4', 0):>6} {used.get('FF', 0):>6}"
                f" {used.get('EBR', 0):>4}  {clocks}  [{verdict}, {report.seconds:.0f} s]",
                flush=True,
            )


def main() -> None:
    parts = os.environ.get("BOARD_BENCH", "synth,sweep").split(",")
    if "synth" in parts:
        synthesis()
    if "sweep" in parts:
        sweep()
