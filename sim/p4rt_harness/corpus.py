"""Run test vectors through a P4Runtime target and compare each with the reference model.

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
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from sim.model.outcome import Counters
from sim.model.pipeline import ReferencePipeline
from sim.vectors import Vector

from .observe import Observation, WiredRouter, delivery_problem, injection_problem

LOG = logging.getLogger(__name__)

#: ``start(num_ports)``: a running target of that many front-panel ports, stopped on exit.
StartRouter = Callable[[int], AbstractAsyncContextManager[WiredRouter]]


@dataclass
class VectorReport:
    """One vector's run: what the target did and every way it differs from the model."""

    vector: Vector
    observation: Observation
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def veth_problem(vector: Vector) -> str | None:
    """Why ``vector`` cannot run over veths and PacketOut (a runt in or out), or None if it can."""
    return injection_problem(vector.frame, vector.ingress_port) or delivery_problem(vector.expected)


def check(vector: Vector, observation: Observation, target: str = "the switch") -> VectorReport:
    """Compare ``target``'s observation with the vector's expected outcome and the model's counters."""
    report = VectorReport(vector, observation)
    if observation.late:
        report.problems.append(f"output of the previous frame arrived late: {observation.late}")
    outcome = observation.outcome()
    if outcome != vector.expected:
        report.problems.append(f"outcome: expected {vector.expected}, {target} did {_describe(observation)}")
    model = ReferencePipeline(vector.tables)
    model.process(vector.frame, vector.ingress_port)
    if observation.counters != model.counters:
        report.problems.append(f"counters: model {model.counters}, {target} {observation.counters}")
    return report


def _describe(observation: Observation) -> str:
    outcome = observation.outcome()
    if outcome is not None:
        return str(outcome)
    return f"{len(observation.forwarded)} forwards {observation.forwarded}, {len(observation.punted)} punts {observation.punted}, drops {observation.counters.drops}"


def _state_key(vector: Vector) -> str:
    return json.dumps(vector.tables.to_json(), sort_keys=True)


async def run_vectors(vectors: Iterable[Vector], start: StartRouter, target: str) -> list[VectorReport]:
    """Run ``vectors`` on the routers ``start`` gives, one per port count; ``target`` names it in reports."""
    by_ports: dict[int, list[Vector]] = {}
    for vector in vectors:
        by_ports.setdefault(vector.tables.num_ports, []).append(vector)
    reports: list[VectorReport] = []
    for num_ports, group in sorted(by_ports.items()):
        async with start(num_ports) as router:
            for vector in sorted(group, key=_state_key):
                await router.install(vector.tables)
                observation = await router.inject(vector.frame, vector.ingress_port)
                report = check(vector, observation, target)
                if not report.passed:
                    LOG.warning("%s on %s: %s", vector.name, target, "; ".join(report.problems))
                reports.append(report)
            if group:
                _check_leftovers(reports[-1], await router.leftovers())
    return reports


def _check_leftovers(last: VectorReport, leftovers: Observation) -> None:
    """The last vector of a run has no next one to show what it did late: look once more."""
    if leftovers.forwarded or leftovers.punted:
        last.problems.append(f"output arrived late: {[*leftovers.forwarded, *leftovers.punted]}")
    if leftovers.counters != Counters():
        last.problems.append(f"counters moved late: {leftovers.counters}")
