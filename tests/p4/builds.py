"""The router build the P4 tests use, and when there is none to be had."""

from __future__ import annotations

import pytest

from sim.bmv2.compile import COMMITTED, RouterBuild, compile_router, compiler_binary
from sim.model.codes import DEFAULT_NUM_PORTS

#: Until p4c has produced p4/build/ once, only a machine with p4c can test the program.
NO_BUILD = not (COMMITTED.p4info.exists() and COMMITTED.bmv2_json.exists()) and compiler_binary() is None
NO_BUILD_REASON = "p4/build/ has not been compiled yet and p4c-bm2-ss is not on PATH (see docs/p4.md)"

needs_build = pytest.mark.skipif(NO_BUILD, reason=NO_BUILD_REASON)  # no p4c and no p4c output


class Builds:
    """The router build for each port count: the committed one for the default, compiled for others."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._compiled: dict[int, RouterBuild] = {}

    def __call__(self, num_ports: int) -> RouterBuild:
        committed = COMMITTED.p4info.exists() and COMMITTED.bmv2_json.exists()
        if num_ports == DEFAULT_NUM_PORTS and committed:
            return COMMITTED
        if num_ports not in self._compiled:
            self._compiled[num_ports] = compile_router(
                self._tmp.mktemp(f"router-{num_ports}-ports"), num_ports
            )
        return self._compiled[num_ports]
