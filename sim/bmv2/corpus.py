"""Run test vectors through BMv2 and compare each with the reference model.

The runner is :func:`sim.p4rt_harness.corpus.run_vectors`, the same one the
HDL target's corpus test uses; this module starts BMv2 for it, one switch
per router build (number of front-panel ports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from sim.p4rt_harness.corpus import VectorReport
from sim.p4rt_harness.corpus import run_vectors as run_on_target
from sim.vectors import Vector

from .compile import RouterBuild
from .harness import Bmv2Router

__all__ = ["VectorReport", "run_vectors"]


async def run_vectors(
    vectors: Iterable[Vector],
    build_for: Callable[[int], RouterBuild],
    run_dir: Path,
    *,
    dataplane_grpc: bool = False,
    log_level: str = "info",
) -> list[VectorReport]:
    """Run ``vectors`` (all injectable) on BMv2; ``build_for(num_ports)`` gives the program.

    ``dataplane_grpc`` puts the frames on BMv2's dataplane gRPC service instead of veths.
    """

    def start(num_ports: int):  # type: ignore[no-untyped-def]
        run = run_dir / f"{'dataplane-grpc' if dataplane_grpc else 'veth'}-{num_ports}-ports"
        return Bmv2Router.running(
            run, num_ports, build_for(num_ports), dataplane_grpc=dataplane_grpc, log_level=log_level
        )

    return await run_on_target(vectors, start, "BMv2")
