"""Board benchmarks: the MAC's full frame-size sweep in simulation, and both boards' synthesis.

Prints, per board and core datapath width, the utilization and nextpnr's Fmax
per clock (the MAC loopback top; see docs/board.md), and the time the full
60..1514-byte sweep takes through the MAC in Icarus.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hdl.boards.boards import BOARDS
from hdl.boards.synth import synthesize
from hdl.mac import EthernetMac
from tests.hdl.mac.harness import run_cocotb

WIDTHS = (4, 8)


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
    print(f"{'board':18} {'W':>2} {'LUT4':>6} {'FF':>6} {'EBR':>4}  Fmax MHz per clock (constraint)")
    for board in sorted(BOARDS):
        for width in WIDTHS:
            report = synthesize(board, width=width)
            used = {name: used for name, (used, _) in report.utilization.items()}
            clocks = ", ".join(
                f"{c.clock.removeprefix('$glbnet$')} {c.achieved_mhz:.1f} ({c.constraint_mhz:.0f})"
                for c in report.clocks
            )
            verdict = "met" if report.timing_met else "NOT MET"
            print(
                f"{board:18} {width:>2} {used.get('LUT4', 0):>6} {used.get('FF', 0):>6} {used.get('EBR', 0):>4}"
                f"  {clocks}  [{verdict}, {report.seconds:.0f} s]"
            )


def main() -> None:
    synthesis()
    sweep()
