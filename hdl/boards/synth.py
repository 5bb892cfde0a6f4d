"""``twinrouter synth``: build a board's bitstream with the yowasp tools and report on it.

Elaborates a board top, lets Amaranth write its build plan (RTLIL, Yosys script,
LPF constraints), runs Yosys, nextpnr-ecp5 and ecppack from the yowasp PyPI
packages with a live progress display, and writes ``report.json`` beside the
bitstream: utilization (LUT4s, flip-flops, block RAMs, I/O) and the Fmax that
nextpnr achieved for every clock, against its constraint. Exits non-zero when
any clock misses its constraint.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hdl.toolchain import use_yowasp

from .boards import BOARDS, Board
from .loopback import MacLoopbackTop
from .router import RouterBoardTop

NAME = "top"
TOPS = {"router": RouterBoardTop, "mac-loopback": MacLoopbackTop}
#: nextpnr's placement seed for each board's router top: the one it met timing with at
#: the last measured commit (docs/board.md lists the runs); other tops use 1. Placement decides whether
#: router2 converges on the 80%-full LFE5U-25F and whether its receive clocks make
#: 125 MHz, so a change to the design may need another (``--seed``).
SEEDS = {"colorlight-5a75b": 2, "versa-ecp5": 1}
# nextpnr's utilization cell types, by what a reader calls them.
RESOURCES = {
    "LUT4": "TRELLIS_COMB",
    "FF": "TRELLIS_FF",
    "EBR": "DP16KD",
    "IO": "TRELLIS_IO",
    "PLL": "EHXPLLL",
}


@dataclass(frozen=True)
class ClockTiming:
    clock: str
    achieved_mhz: float
    constraint_mhz: float

    @property
    def met(self) -> bool:
        return self.achieved_mhz >= self.constraint_mhz


@dataclass
class SynthReport:
    board: str
    top: str
    width: int
    core_mhz: float
    bitstream: str
    seconds: float
    utilization: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (used, available)
    clocks: list[ClockTiming] = field(default_factory=list)

    @property
    def timing_met(self) -> bool:
        return bool(self.clocks) and all(clock.met for clock in self.clocks)

    def to_json(self) -> str:
        data = asdict(self)
        data["timing_met"] = self.timing_met
        return json.dumps(data, indent=2)


def parse_nextpnr_report(path: Path) -> tuple[dict[str, tuple[int, int]], list[ClockTiming]]:
    """Utilization and per-clock Fmax from nextpnr's ``--report`` JSON."""
    report = json.loads(path.read_text())
    cells = report.get("utilization", {})
    utilization = {
        name: (cells[cell]["used"], cells[cell]["available"])
        for name, cell in RESOURCES.items()
        if cell in cells
    }
    clocks = [
        ClockTiming(clock, round(value["achieved"], 2), round(value["constraint"], 2))
        for clock, value in sorted(report.get("fmax", {}).items())
    ]
    return utilization, clocks


def tool_environment() -> dict[str, str]:
    """The environment for Amaranth's build script: the yowasp tools from this venv."""
    use_yowasp()
    return dict(os.environ)


def make_top(board: Board, top_name: str, width: int | None, core_mhz: float | None):
    """The board top ``top_name``; ``width`` and ``core_mhz`` left None take the top's defaults."""
    options = {name: value for name, value in (("width", width), ("core_mhz", core_mhz)) if value is not None}
    return TOPS[top_name](board, **options)


def top_parameters(top) -> tuple[int, float]:
    """The datapath width and core clock a top was built with."""
    if isinstance(top, RouterBoardTop):
        return top.build.width, top.build.core_mhz
    return top._width, top._core_mhz


def prepare(top, board: Board, build_dir: Path, seed: int) -> None:
    """Write Amaranth's build plan for the board top into ``build_dir``."""
    platform = board.platform()
    plan = platform.prepare(
        top,
        name=NAME,
        # router2: router1 did not converge on the router top (45,000 of 128,000 arcs left after 40 minutes).
        nextpnr_opts=f"--report {NAME}.report.json --timing-allow-fail --seed {seed} --router router2",
    )
    plan.extract(build_dir)


def run_build(build_dir: Path, *, show_progress: bool) -> None:
    """Run the plan's build script; show which tool runs, for how long, and its last log line."""
    script = build_dir / f"build_{NAME}.sh"
    log = (build_dir / "build.log").open("w")
    process = subprocess.Popen(
        ["sh", script.name], cwd=build_dir, env=tool_environment(), stdout=log, stderr=log
    )
    if show_progress:
        _watch(process, build_dir)
    returncode = process.wait()
    log.close()
    if returncode != 0:
        tail = (build_dir / "build.log").read_text().splitlines()[-20:]
        raise RuntimeError(f"the build failed (exit {returncode}); see {build_dir}:\n" + "\n".join(tail))


def _stage(build_dir: Path) -> tuple[str, Path | None]:
    stages = [("ecppack", f"{NAME}.config"), ("nextpnr-ecp5", f"{NAME}.tim"), ("yosys", f"{NAME}.rpt")]
    for tool, marker in stages:
        if (build_dir / marker).exists():
            log = build_dir / ("build.log" if tool == "ecppack" else marker)
            return tool, log
    return "starting", None


def _last_line(path: Path | None) -> str:
    if path is None or not path.exists():
        return ""
    with path.open("rb") as file:
        file.seek(max(0, path.stat().st_size - 2000))
        lines = [line.strip() for line in file.read().decode(errors="replace").splitlines() if line.strip()]
    return lines[-1][:100] if lines else ""


def _watch(process: subprocess.Popen, build_dir: Path) -> None:
    from rich.live import Live
    from rich.spinner import Spinner
    from rich.table import Table

    start = time.monotonic()
    done: list[tuple[str, float]] = []
    current, since = "starting", start
    with Live(refresh_per_second=4, transient=False) as live:
        while process.poll() is None:
            stage, log = _stage(build_dir)
            if stage != current:
                done.append((current, time.monotonic() - since))
                current, since = stage, time.monotonic()
            table = Table.grid(padding=(0, 2))
            for name, seconds in done[1:]:
                table.add_row("[green]done[/]", name, f"{seconds:6.1f} s", "")
            table.add_row(Spinner("dots"), current, f"{time.monotonic() - since:6.1f} s", _last_line(log))
            live.update(table)
            time.sleep(0.25)


def synthesize(
    board_name: str,
    *,
    top: str = "router",
    width: int | None = None,
    core_mhz: float | None = None,
    build_dir: Path | None = None,
    seed: int | None = None,
    show_progress: bool = False,
) -> SynthReport:
    """Build ``board_name``'s bitstream; return the report (also written to ``report.json``)."""
    if board_name not in BOARDS:
        raise ValueError(f"unknown board {board_name!r}; choose from {', '.join(sorted(BOARDS))}")
    board = BOARDS[board_name]
    elaboratable = make_top(board, top, width, core_mhz)
    width, core_mhz = top_parameters(elaboratable)
    build_dir = build_dir or Path("build") / "synth" / f"{board_name}-{top}-w{width}"
    build_dir.mkdir(parents=True, exist_ok=True)
    for stale in build_dir.glob(f"{NAME}.*"):
        stale.unlink()
    start = time.monotonic()
    if seed is None:  # the router's seed from SEEDS; the loopback builds with 1
        seed = SEEDS.get(board_name, 1) if top == "router" else 1
    prepare(elaboratable, board, build_dir, seed)
    run_build(build_dir, show_progress=show_progress)
    utilization, clocks = parse_nextpnr_report(build_dir / f"{NAME}.report.json")
    report = SynthReport(
        board=board_name,
        top=top,
        width=width,
        core_mhz=core_mhz,
        bitstream=str(build_dir / f"{NAME}.bit"),
        seconds=round(time.monotonic() - start, 1),
        utilization=utilization,
        clocks=clocks,
    )
    (build_dir / "report.json").write_text(report.to_json())
    return report


def print_report(report: SynthReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    usage = Table(title=f"{report.board}: {report.top}, {report.width}-byte core at {report.core_mhz:g} MHz")
    for column in ("resource", "used", "available", "%"):
        usage.add_column(column, justify="right")
    for name, (used, available) in report.utilization.items():
        usage.add_row(name, str(used), str(available), f"{100 * used / max(available, 1):.1f}")
    console.print(usage)
    timing = Table(title="nextpnr Fmax per clock")
    for column in ("clock", "achieved MHz", "constraint MHz", ""):
        timing.add_column(column, justify="right")
    for clock in report.clocks:
        verdict = "[green]met[/]" if clock.met else "[red]FAILED[/]"
        timing.add_row(clock.clock, f"{clock.achieved_mhz:.2f}", f"{clock.constraint_mhz:.2f}", verdict)
    console.print(timing)
    console.print(f"bitstream: {report.bitstream} ({report.seconds:.0f} s)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", required=True, choices=sorted(BOARDS), help="the board to build for")
    parser.add_argument("--top", default="router", choices=sorted(TOPS), help="which board top")
    parser.add_argument("--width", type=int, help="core datapath width in bytes (default: the top's own)")
    parser.add_argument("--core-mhz", type=float, help="core clock in MHz (default: the top's own)")
    parser.add_argument(
        "--seed",
        type=int,
        help="nextpnr placement seed (default: the board's, see SEEDS in hdl/boards/synth.py)",
    )
    parser.add_argument("--build-dir", type=Path, help="where the build goes (default build/synth/...)")


def run(args: argparse.Namespace) -> int:
    try:
        report = synthesize(
            args.board,
            top=args.top,
            width=args.width,
            core_mhz=args.core_mhz,
            build_dir=args.build_dir,
            seed=args.seed,
            show_progress=sys.stdout.isatty(),
        )
    except RuntimeError as error:  # a tool failed, e.g. nextpnr: the design does not fit the device
        print(f"synthesis of {args.top} for {args.board} failed: {error}", file=sys.stderr)
        return 1
    print_report(report)
    if not report.timing_met:
        failed = ", ".join(c.clock for c in report.clocks if not c.met) or "no clock was analysed"
        print(f"timing NOT met: {failed}", file=sys.stderr)
        return 1
    return 0
