"""An accepted P4Info, indexed for the server: IDs to names and widths."""

from __future__ import annotations

from dataclasses import dataclass

from finsy.proto.p4.config.v1 import p4info_pb2

from .surface import PipelineSurface, TableSpec


@dataclass(frozen=True)
class TableIds:
    spec: TableSpec
    id: int
    field_ids: dict[int, int]  # P4Info match field id -> index in spec.match_fields
    action_ids: frozenset[int]  # usable in entries
    default_action_ids: frozenset[int]  # usable as the default action


class P4Schema:
    """Looks up tables, actions, counters and controller headers by P4Info ID."""

    def __init__(self, p4info: p4info_pb2.P4Info, surface: PipelineSurface):
        self.p4info = p4info
        self.surface = surface
        self.action_names = {a.preamble.id: a.preamble.name for a in p4info.actions}
        self.action_ids = {name: aid for aid, name in self.action_names.items()}
        self.action_params = {
            a.preamble.id: {p.id: (p.name, p.bitwidth) for p in a.params} for a in p4info.actions
        }
        self.tables: dict[int, TableIds] = {}
        for info in p4info.tables:
            spec = surface.table(info.preamble.name)
            order = {f.name: i for i, f in enumerate(spec.match_fields)}
            self.tables[info.preamble.id] = TableIds(
                spec=spec,
                id=info.preamble.id,
                field_ids={m.id: order[m.name] for m in info.match_fields},
                action_ids=frozenset(
                    r.id for r in info.action_refs if r.scope != p4info_pb2.ActionRef.DEFAULT_ONLY
                ),
                default_action_ids=frozenset(
                    r.id for r in info.action_refs if r.scope != p4info_pb2.ActionRef.TABLE_ONLY
                ),
            )
        self.table_ids = {t.spec.name: tid for tid, t in self.tables.items()}
        self.counters = {c.preamble.id: (c.preamble.name, c.size) for c in p4info.counters}
        self.packet_metadata = {
            m.preamble.name: [(f.id, f.name, f.bitwidth) for f in m.metadata]
            for m in p4info.controller_packet_metadata
        }
