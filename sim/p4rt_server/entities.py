"""Table entries as the server stores them, and their validation (P4Runtime spec §8-9).

Values arrive as byte strings; they are stored as integers, so two
encodings of one value (canonical or zero-padded) are the same key, and
read back in the canonical form (shortest, at least one byte).
"""

from __future__ import annotations

from dataclasses import dataclass

from finsy.proto.p4.v1 import p4runtime_pb2

from .errors import invalid, out_of_range, unimplemented
from .schema import P4Schema, TableIds


@dataclass(frozen=True)
class MatchValue:
    """One match field: ``value`` and, for LPM, ``prefix_len`` (exact: the full width)."""

    value: int
    prefix_len: int


@dataclass(frozen=True)
class ActionCall:
    name: str
    params: tuple[tuple[str, int], ...]  # in the action's declared order

    def param(self, name: str) -> int:
        return dict(self.params)[name]


@dataclass(frozen=True)
class TableEntry:
    """A validated entry. ``key`` holds one MatchValue per match field, in table order;
    ``None`` stands for an omitted (wildcard) LPM field, i.e. /0."""

    table: str
    key: tuple[MatchValue | None, ...]
    action: ActionCall


def decode_value(raw: bytes, bitwidth: int, what: str) -> int:
    if not raw:
        raise invalid(f"{what}: empty byte string")
    value = int.from_bytes(raw, "big")
    if value >> bitwidth:
        raise out_of_range(f"{what}: value 0x{raw.hex()} does not fit in {bitwidth} bits")
    return value


def encode_value(value: int) -> bytes:
    """The canonical byte string: no leading zero bytes, at least one byte."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def parse_key(schema: P4Schema, table: TableIds, match: list[p4runtime_pb2.FieldMatch]) -> tuple:
    key: list[MatchValue | None] = [None] * len(table.spec.match_fields)
    seen: set[int] = set()
    for field in match:
        index = table.field_ids.get(field.field_id)
        if index is None:
            raise invalid(f"{table.spec.name}: unknown match field id {field.field_id}")
        if field.field_id in seen:
            raise invalid(f"{table.spec.name}: match field id {field.field_id} given twice")
        seen.add(field.field_id)
        spec = table.spec.match_fields[index]
        what = f"{table.spec.name}.{spec.name}"
        kind = field.WhichOneof("field_match_type")
        if spec.match_type == "EXACT":
            if kind != "exact":
                raise invalid(f"{what}: is an exact field, got {kind}")
            key[index] = MatchValue(decode_value(field.exact.value, spec.bitwidth, what), spec.bitwidth)
        elif spec.match_type == "LPM":
            if kind != "lpm":
                raise invalid(f"{what}: is an lpm field, got {kind}")
            key[index] = _lpm_value(field.lpm, spec.bitwidth, what)
        else:  # pragma: no cover - the surface has only exact and lpm
            raise unimplemented(f"{what}: match type {spec.match_type}")
    for index, spec in enumerate(table.spec.match_fields):
        if spec.match_type == "EXACT" and key[index] is None:
            raise invalid(f"{table.spec.name}: exact match field {spec.name} is missing")
    return tuple(key)


def _lpm_value(lpm: p4runtime_pb2.FieldMatch.LPM, bitwidth: int, what: str) -> MatchValue:
    if not 1 <= lpm.prefix_len <= bitwidth:
        # A /0 match is written by omitting the field (P4Runtime §9.1.1).
        raise invalid(f"{what}: prefix_len {lpm.prefix_len} not in 1..{bitwidth}")
    value = decode_value(lpm.value, bitwidth, what)
    host_bits = (1 << (bitwidth - lpm.prefix_len)) - 1
    if value & host_bits:
        raise invalid(f"{what}: value has bits set beyond prefix_len {lpm.prefix_len}")
    return MatchValue(value, lpm.prefix_len)


def parse_action(
    schema: P4Schema, table: TableIds, action: p4runtime_pb2.TableAction, *, default: bool
) -> ActionCall:
    kind = action.WhichOneof("type")
    if kind is None:
        raise invalid(f"{table.spec.name}: entry has no action")
    if kind != "action":
        raise unimplemented(f"{table.spec.name}: {kind} is not supported (no action profiles)")
    call = action.action
    allowed = table.default_action_ids if default else table.action_ids
    name = schema.action_names.get(call.action_id)
    if name is None:
        raise invalid(f"{table.spec.name}: unknown action id {call.action_id}")
    if call.action_id not in allowed:
        where = "as the default action" if default else "in a table entry"
        raise invalid(f"{table.spec.name}: action {name} cannot be used {where}")
    declared = schema.action_params[call.action_id]
    values: dict[int, int] = {}
    for param in call.params:
        if param.param_id not in declared:
            raise invalid(f"{name}: unknown param id {param.param_id}")
        if param.param_id in values:
            raise invalid(f"{name}: param id {param.param_id} given twice")
        pname, width = declared[param.param_id]
        values[param.param_id] = decode_value(param.value, width, f"{name}({pname})")
    missing = [declared[pid][0] for pid in declared if pid not in values]
    if missing:
        raise invalid(f"{name}: missing params {', '.join(missing)}")
    return ActionCall(name, tuple((declared[pid][0], values[pid]) for pid in sorted(declared)))


def to_proto(schema: P4Schema, entry: TableEntry, *, default: bool = False) -> p4runtime_pb2.TableEntry:
    """The entry as a Read response carries it (canonical byte strings)."""
    tid = schema.table_ids[entry.table]
    table = schema.tables[tid]
    out = p4runtime_pb2.TableEntry(table_id=tid, is_default_action=default)
    field_id_by_index = {index: fid for fid, index in table.field_ids.items()}
    for index, value in enumerate(entry.key):
        if value is None:
            continue
        spec = table.spec.match_fields[index]
        field = out.match.add(field_id=field_id_by_index[index])
        if spec.match_type == "EXACT":
            field.exact.value = encode_value(value.value)
        else:
            field.lpm.value = encode_value(value.value)
            field.lpm.prefix_len = value.prefix_len
    aid = schema.action_ids[entry.action.name]
    out.action.action.action_id = aid
    param_ids = {name: pid for pid, (name, _) in schema.action_params[aid].items()}
    for pname, pvalue in entry.action.params:
        out.action.action.params.add(param_id=param_ids[pname], value=encode_value(pvalue))
    return out
