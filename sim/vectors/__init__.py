"""The shared test-vector corpus: table state + frame + ingress port -> expected outcome.

Every data plane (reference model, Amaranth, cocotb/Icarus/Verilator, BMv2,
the HDL target over P4Runtime) runs this same corpus. The corpus is stored
as reviewable JSON (``corpus.json``, frames in hex) and regenerated from
``sim/vectors/generate.py`` with ``twinrouter vectors --write``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.model.outcome import Outcome, outcome_from_json, outcome_to_json
from sim.model.tables import TableState

CORPUS_PATH = Path(__file__).with_name("corpus.json")


@dataclass(frozen=True)
class Vector:
    """One test case. ``tags`` name the classes it covers (e.g. ``"punt:ARP"``, ``"options"``)."""

    name: str
    description: str
    tables: TableState
    ingress_port: int
    frame: bytes
    expected: Outcome
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "tags": list(self.tags),
            "tables": self.tables.to_json(),
            "ingress_port": self.ingress_port,
            "frame": self.frame.hex(),
            "expected": outcome_to_json(self.expected),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vector:
        return cls(
            name=data["name"],
            description=data["description"],
            tags=tuple(data.get("tags", ())),
            tables=TableState.from_json(data["tables"]),
            ingress_port=int(data["ingress_port"]),
            frame=bytes.fromhex(data["frame"]),
            expected=outcome_from_json(data["expected"]),
        )


def load_corpus(path: Path = CORPUS_PATH) -> list[Vector]:
    """All vectors of the corpus, in file order."""
    data = json.loads(path.read_text())
    return [Vector.from_json(case) for case in data["cases"]]


def dump_corpus(vectors: list[Vector], path: Path = CORPUS_PATH) -> None:
    payload = {"format": 1, "cases": [v.to_json() for v in vectors]}
    path.write_text(json.dumps(payload, indent=1) + "\n")
