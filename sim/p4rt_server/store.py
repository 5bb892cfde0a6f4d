"""The server's record of what is installed: the source of Read responses and of
the ALREADY_EXISTS / NOT_FOUND / RESOURCE_EXHAUSTED decisions."""

from __future__ import annotations

from .dataplane import DataPlane
from .entities import ActionCall, TableEntry
from .errors import already_exists, exhausted, not_found
from .surface import PipelineSurface


class EntryStore:
    def __init__(self, surface: PipelineSurface, dataplane: DataPlane):
        self.surface = surface
        self.dataplane = dataplane
        self.entries: dict[str, dict[tuple, TableEntry]] = {t.name: {} for t in surface.tables}
        self.defaults: dict[str, ActionCall] = {}
        self.reset_defaults()

    def reset_defaults(self) -> None:
        self.defaults = {t.name: ActionCall(t.default_action, ()) for t in self.surface.tables}

    async def clear(self) -> None:
        await self.dataplane.clear()
        for table in self.entries.values():
            table.clear()
        self.reset_defaults()

    async def insert(self, entry: TableEntry) -> None:
        table = self.entries[entry.table]
        if entry.key in table:
            raise already_exists(f"{entry.table}: an entry with this key exists")
        capacity = self.surface.table(entry.table).capacity
        if len(table) >= capacity:
            raise exhausted(f"{entry.table}: table is full ({capacity} entries)")
        await self.dataplane.insert(entry)
        table[entry.key] = entry

    async def modify(self, entry: TableEntry) -> None:
        table = self.entries[entry.table]
        if entry.key not in table:
            raise not_found(f"{entry.table}: no entry with this key to modify")
        await self.dataplane.modify(entry)
        table[entry.key] = entry

    async def delete(self, table_name: str, key: tuple) -> None:
        table = self.entries[table_name]
        installed = table.get(key)
        if installed is None:
            raise not_found(f"{table_name}: no entry with this key to delete")
        await self.dataplane.delete(installed)
        del table[key]

    async def set_default(self, table: str, action: ActionCall | None) -> None:
        """Set the default action; ``None`` restores the program's default."""
        if action is None:
            action = ActionCall(self.surface.table(table).default_action, ())
        await self.dataplane.set_default(table, action)
        self.defaults[table] = action
