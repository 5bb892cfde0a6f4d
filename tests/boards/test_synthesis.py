"""Both boards' Ethernet side synthesized and timed: the MAC loopback top through yowasp
Yosys, nextpnr-ecp5 and ecppack, with the report checked.

The loopback top is the router top's RGMII PHYs, MACs, clock crossings and
clocking without the router core: every 125 MHz path of the router build is in
it. Each build takes 1 to 3 minutes (docs/board.md); the router top takes 10 to
25 minutes a board, so its bitstreams are built by ``make synth`` and
``make bench`` instead (their figures are in docs/board.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hdl.boards.boards import BOARDS
from hdl.boards.synth import synthesize


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_mac_loopback_bitstream_meets_timing(board: str, tmp_path: Path) -> None:
    report = synthesize(board, top="mac-loopback", build_dir=tmp_path)
    assert Path(report.bitstream).stat().st_size > 100_000
    clocks = {clock.clock: clock for clock in report.clocks}
    # The PHYs' receive clocks, the transmit clock and the core clock, each against its constraint.
    assert len(clocks) == 4, clocks
    assert sum(1 for clock in report.clocks if clock.constraint_mhz == 125.0) == 3
    missed = [c for c in report.clocks if not c.met]
    assert not missed, f"{board}: clocks missed their constraint: {missed}"
    used, available = report.utilization["EBR"]
    assert 0 < used <= available
