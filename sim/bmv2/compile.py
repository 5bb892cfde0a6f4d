"""Compiling ``p4/router.p4`` with ``p4c-bm2-ss`` (the same command as ``make p4``).

The committed build (``p4/build/``) is the default 4-port router. A router
with another number of front-panel ports is a different build
(``-DNUM_PORTS=N``); its P4Info is the same, only the BMv2 JSON differs.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sim.model.codes import DEFAULT_NUM_PORTS
from sim.p4build import BMV2_JSON_PATH, P4_DIR, P4INFO_PATH

COMPILER = "p4c-bm2-ss"
REPO_ROOT = P4_DIR.parent
#: Relative to the repository root, as ``make p4`` names it (the JSON records it).
SOURCE = Path("p4/router.p4")
JSON_NAME = BMV2_JSON_PATH.name
P4INFO_NAME = P4INFO_PATH.name


@dataclass(frozen=True)
class RouterBuild:
    """A compiled router: the BMv2 JSON and its P4Info."""

    bmv2_json: Path
    p4info: Path


COMMITTED = RouterBuild(BMV2_JSON_PATH, P4INFO_PATH)


def compiler_binary() -> str | None:
    """Path of ``p4c-bm2-ss`` on PATH, or None."""
    return shutil.which(COMPILER)


def compile_command(out_dir: Path, num_ports: int = DEFAULT_NUM_PORTS) -> list[str]:
    """The compiler command line, run from the repository root."""
    defines = [] if num_ports == DEFAULT_NUM_PORTS else [f"-DNUM_PORTS={num_ports}"]
    return [
        COMPILER,
        "--std", "p4-16",
        "--arch", "v1model",
        "-I", "p4",
        *defines,
        "--p4runtime-files", str(out_dir / P4INFO_NAME),
        "-o", str(out_dir / JSON_NAME),
        str(SOURCE),
    ]  # fmt: skip


def compile_router(out_dir: Path, num_ports: int = DEFAULT_NUM_PORTS) -> RouterBuild:
    """Compile into ``out_dir``; raises RuntimeError with the compiler's output on failure."""
    if compiler_binary() is None:
        raise FileNotFoundError(f"{COMPILER} is not on PATH (see docs/p4.md)")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        compile_command(out_dir, num_ports), cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{COMPILER} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    return RouterBuild(out_dir / JSON_NAME, out_dir / P4INFO_NAME)
