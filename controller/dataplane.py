"""What the protocol logic needs from a data plane, and the controller's event counters.

ARP, ICMP and the RIB see the switch only through :class:`Dataplane`: send
a finished frame out of a port (a packet-out), and change table entries.
The P4Runtime session implements it for a real switch; tests implement it
with the reference model.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from .intent import ChangeSet


class Dataplane(Protocol):
    def send_packet(self, port: int, frame: bytes) -> None:
        """Send ``frame`` out of front-panel ``port`` unchanged (P4Runtime packet-out)."""
        ...

    def change(self, changes: ChangeSet) -> None:
        """Set (or, with None, remove) table entries; one call is one change set (one write)."""
        ...


class EventCounters(Counter[str]):
    """Named counts of what the controller did and why it dropped things (``show counters``)."""
