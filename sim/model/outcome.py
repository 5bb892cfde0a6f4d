"""What the pipeline does with one frame: forward, punt or drop, and the counters it moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .codes import CPU_PORT, DropReason, PuntReason


@dataclass(frozen=True)
class Forward:
    """Send ``frame`` out of front-panel ``port``."""

    port: int
    frame: bytes


@dataclass(frozen=True)
class Punt:
    """Send the received ``frame`` (unchanged) to the controller with a ``packet_in`` header."""

    reason: PuntReason
    ingress_port: int
    frame: bytes

    def packet_in_bytes(self) -> bytes:
        """The frame as it leaves on the CPU port: ``packet_in`` header, then the frame."""
        return self.ingress_port.to_bytes(2, "big") + bytes([self.reason]) + self.frame


@dataclass(frozen=True)
class Drop:
    """Discard the frame, counting it under ``reason``."""

    reason: DropReason


Outcome = Forward | Punt | Drop


def outcome_to_json(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Forward):
        return {"kind": "forward", "port": outcome.port, "frame": outcome.frame.hex()}
    if isinstance(outcome, Punt):
        return {
            "kind": "punt",
            "reason": outcome.reason.name,
            "ingress_port": outcome.ingress_port,
            "frame": outcome.frame.hex(),
        }
    return {"kind": "drop", "reason": outcome.reason.name}


def outcome_from_json(data: dict[str, Any]) -> Outcome:
    kind = data["kind"]
    if kind == "forward":
        return Forward(int(data["port"]), bytes.fromhex(data["frame"]))
    if kind == "punt":
        return Punt(PuntReason[data["reason"]], int(data["ingress_port"]), bytes.fromhex(data["frame"]))
    if kind == "drop":
        return Drop(DropReason[data["reason"]])
    raise ValueError(f"unknown outcome kind {kind!r}")


@dataclass
class CounterValue:
    packets: int = 0
    bytes: int = 0

    def count(self, length: int) -> None:
        self.packets += 1
        self.bytes += length


@dataclass
class Counters:
    """The pipeline's counters, indexed as the P4 counter arrays are.

    Byte counts are always the length of the frame as it arrived on its
    ingress port (controller header included for frames from the CPU port),
    which is what BMv2 counts at every point of the pipeline.
    """

    rx_port: dict[int, CounterValue] = field(default_factory=dict)
    tx_port: dict[int, CounterValue] = field(default_factory=dict)
    drops: dict[DropReason, CounterValue] = field(default_factory=dict)
    punts: dict[PuntReason, CounterValue] = field(default_factory=dict)

    def record(self, ingress_port: int, received_length: int, outcome: Outcome) -> None:
        self.rx_port.setdefault(ingress_port, CounterValue()).count(received_length)
        if isinstance(outcome, Forward):
            self.tx_port.setdefault(outcome.port, CounterValue()).count(received_length)
        elif isinstance(outcome, Punt):
            self.punts.setdefault(outcome.reason, CounterValue()).count(received_length)
            self.tx_port.setdefault(CPU_PORT, CounterValue()).count(received_length)
        else:
            self.drops.setdefault(outcome.reason, CounterValue()).count(received_length)
