"""The executable reference model of the twinrouter pipeline (DESIGN.md §1)."""

from .codes import CPU_PORT, DropReason, PuntReason
from .outcome import Counters, CounterValue, Drop, Forward, Outcome, Punt
from .pipeline import ReferencePipeline
from .tables import BROADCAST_MAC, Direct, MacAddress, NextHop, NullRoute, RouteAction, TableState

__all__ = [
    "BROADCAST_MAC",
    "CPU_PORT",
    "CounterValue",
    "Counters",
    "Direct",
    "Drop",
    "DropReason",
    "Forward",
    "MacAddress",
    "NextHop",
    "NullRoute",
    "Outcome",
    "Punt",
    "PuntReason",
    "ReferencePipeline",
    "RouteAction",
    "TableState",
]
