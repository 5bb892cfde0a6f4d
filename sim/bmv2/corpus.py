"""Run test vectors through BMv2 and compare each with the reference model.

One switch per router build (number of front-panel ports); within a build the
vectors run grouped by table state, so the tables are rewritten only when the
state changes. Every vector is checked twice over: the outcome (the exact
forwarded frame and port, the packet-in with reason and ingress port, or the
drop reason) and every counter cell that moved.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sim.model.pipeline import ReferencePipeline
from sim.vectors import Vector

from .compile import RouterBuild
from .harness import Bmv2Router, Observation

LOG = logging.getLogger(__name__)


@dataclass
class VectorReport:
    """One vector's run: what BMv2 did and every way it differs from the model."""

    vector: Vector
    observation: Observation
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def check(vector: Vector, observation: Observation) -> VectorReport:
    """Compare BMv2's observation with the vector's expected outcome and the model's counters."""
    report = VectorReport(vector, observation)
    if observation.late:
        report.problems.append(f"output of the previous frame arrived late: {observation.late}")
    outcome = observation.outcome()
    if outcome != vector.expected:
        report.problems.append(f"outcome: expected {vector.expected}, BMv2 did {_describe(observation)}")
    model = ReferencePipeline(vector.tables)
    model.process(vector.frame, vector.ingress_port)
    if observation.counters != model.counters:
        report.problems.append(f"counters: model {model.counters}, BMv2 {observation.counters}")
    return report


def _describe(observation: Observation) -> str:
    outcome = observation.outcome()
    if outcome is not None:
        return str(outcome)
    return f"{len(observation.forwarded)} forwards {observation.forwarded}, {len(observation.punted)} punts {observation.punted}, drops {observation.counters.drops}"


def _state_key(vector: Vector) -> str:
    return json.dumps(vector.tables.to_json(), sort_keys=True)


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
    by_ports: dict[int, list[Vector]] = {}
    for vector in vectors:
        by_ports.setdefault(vector.tables.num_ports, []).append(vector)
    reports: list[VectorReport] = []
    for num_ports, group in sorted(by_ports.items()):
        build = build_for(num_ports)
        run = run_dir / f"{'dataplane-grpc' if dataplane_grpc else 'veth'}-{num_ports}-ports"
        async with Bmv2Router.running(
            run, num_ports, build, dataplane_grpc=dataplane_grpc, log_level=log_level
        ) as router:
            for vector in sorted(group, key=_state_key):
                await router.install(vector.tables)
                observation = await router.inject(vector.frame, vector.ingress_port)
                report = check(vector, observation)
                if not report.passed:
                    LOG.warning("%s: %s", vector.name, "; ".join(report.problems))
                reports.append(report)
    return reports
