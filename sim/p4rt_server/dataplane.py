"""What the P4Runtime server needs from a target's data plane."""

from __future__ import annotations

from typing import Protocol

from .entities import ActionCall, TableEntry
from .surface import PipelineSurface


class DataPlane(Protocol):
    """A data plane the server programs. Entries arrive already validated
    against :attr:`surface`; the server has checked existence and duplicates
    and the surface's capacity, so a data plane only refuses what its own
    structure cannot hold (raising a RESOURCE_EXHAUSTED ``P4RuntimeError``)."""

    surface: PipelineSurface

    async def clear(self) -> None:
        """Forget every entry and restore default actions (a new pipeline was committed)."""

    async def insert(self, entry: TableEntry) -> None: ...

    async def modify(self, entry: TableEntry) -> None: ...

    async def delete(self, entry: TableEntry) -> None: ...

    async def set_default(self, table: str, action: ActionCall) -> None: ...

    async def read_counters(self, counter: str) -> dict[int, tuple[int, int]]:
        """(packets, bytes) of every cell of one counter array; cells left out are zero."""
        ...

    async def inject_cpu_frame(self, frame: bytes) -> None:
        """Send ``frame`` (``packet_out`` header + Ethernet frame) into the CPU port."""

    async def next_cpu_frame(self) -> bytes:
        """Wait for the next frame the pipeline sends to the CPU port (``packet_in`` header first)."""
        ...
