"""Table entries as P4Runtime protobufs, and back, by the P4Info's names.

The controller's entries (:mod:`controller.intent`) become serialized
``p4.v1.Update`` messages, with IDs looked up once from the P4Info and
values in P4Runtime's canonical byte strings (no leading zero bytes). This
is the hot path of route installation, so the wire bytes are put together
directly (a handful of fixed prefixes per table and action) instead of
through protobuf objects, which costs several times more per entry; the
tests check every kind of entry against protobuf's own parser. Decoding
takes protobuf messages and accepts any byte width, so entries read back
from a switch that pads its values still compare equal.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from finsy.proto.p4.config.v1 import p4info_pb2
from finsy.proto.p4.v1 import p4runtime_pb2 as p4r

from sim.model.tables import Direct, MacAddress, NextHop, NullRoute

from .intent import DELIVER_LOCAL, EntryKey, EntryValue, Op, Table, Update

_LPM = Table.IPV4_LPM  # a module constant: an Enum member's attribute lookup costs a dict probe more

#: Encoded actions remembered per table (values are few: next hops, ports, MACs).
ACTION_CACHE_SIZE = 1024
_OPS = {Op.INSERT: p4r.Update.INSERT, Op.MODIFY: p4r.Update.MODIFY, Op.DELETE: p4r.Update.DELETE}
#: Update.type (field 1, varint) for each op, as wire bytes.
_OP_BYTES = {op: b"\x08" + bytes([value]) for op, value in _OPS.items()}

#: table -> its one match field
_MATCH_FIELD = {
    Table.ROUTER_MAC: "port",
    Table.PORT_MAC: "port",
    Table.LOCAL_IP: "dst_addr",
    Table.IPV4_LPM: "dst_addr",
    Table.ARP: "nhop_ip",
}
_ACTIONS = (
    "ingress.set_router_mac",
    "egress.set_src_mac",
    "ingress.deliver_local",
    "ingress.set_nexthop",
    "ingress.set_direct",
    "ingress.drop",
    "ingress.set_dmac",
)


class P4InfoMismatch(ValueError):
    """The P4Info lacks a table, field, action or parameter the controller programs."""


def canonical(value: int) -> bytes:
    """P4Runtime's canonical byte string for a non-negative integer (§8.4)."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


_ONE_BYTE = [bytes([n]) for n in range(0x80)]


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _ONE_BYTE[value]
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: tag byte (field number << 3 | 2), length, payload."""
    length = len(payload)
    if length < 0x80:
        return bytes((tag, length)) + payload
    return bytes([tag]) + _varint(length) + payload


@dataclass(frozen=True)
class _ActionIds:
    id: int
    params: dict[str, int]

    @property
    def prefix(self) -> bytes:
        return b"\x08" + _varint(self.id)  # Action.action_id = 1

    def param_prefix(self, name: str) -> bytes:
        return b"\x10" + _varint(self.params[name])  # Action.Param.param_id = 2


class EntryCodec:
    def __init__(self, p4info: p4info_pb2.P4Info):
        tables = {t.preamble.name: t for t in p4info.tables}
        actions = {a.preamble.name: a for a in p4info.actions}
        self._table_ids: dict[Table, int] = {}
        self._field_ids: dict[Table, int] = {}
        for table in Table:
            info = tables.get(table.value)
            if info is None:
                raise P4InfoMismatch(f"P4Info has no table {table.value}")
            fields = {f.name: f.id for f in info.match_fields}
            if _MATCH_FIELD[table] not in fields:
                raise P4InfoMismatch(f"{table.value} has no match field {_MATCH_FIELD[table]}")
            self._table_ids[table] = info.preamble.id
            self._field_ids[table] = fields[_MATCH_FIELD[table]]
        self._tables_by_id = {v: k for k, v in self._table_ids.items()}
        self._entry_heads = {t: b"\x08" + _varint(i) for t, i in self._table_ids.items()}
        self._field_id_bytes = {t: b"\x08" + _varint(i) for t, i in self._field_ids.items()}
        self._action_cache: dict[Table, dict[int, tuple[EntryValue, bytes]]] = {t: {} for t in Table}
        self._lpm_head = self._entry_heads[Table.IPV4_LPM]
        self._lpm_field_id = self._field_id_bytes[Table.IPV4_LPM]
        self._actions: dict[str, _ActionIds] = {}
        for name in _ACTIONS:
            info = actions.get(name)
            if info is None:
                raise P4InfoMismatch(f"P4Info has no action {name}")
            self._actions[name] = _ActionIds(info.preamble.id, {p.name: p.id for p in info.params})
        self._action_names = {a.id: name for name, a in self._actions.items()}

    def table_id(self, table: Table) -> int:
        return self._table_ids[table]

    # --- encoding --------------------------------------------------------------

    def update(self, update: Update) -> p4r.Update:
        """The update as a protobuf message."""
        return p4r.Update.FromString(self.update_bytes(update))

    def update_bytes(self, update: Update) -> bytes:
        """The serialized ``p4.v1.Update`` (field numbers from p4runtime.proto)."""
        op, table, key, value = update
        if table is _LPM:
            entry = self._lpm_entry_head(key)  # type: ignore[arg-type]
        else:
            entry = self._entry_heads[table] + self._exact_match(table, key)  # table_id = 1, match = 2
        if value is not None:
            entry += self._action_field(table, value)  # TableEntry.action = 3
        length = len(entry)
        if length < 0x7E:  # both lengths fit one byte (always, for our tables)
            return _OP_BYTES[op] + bytes((0x12, length + 2, 0x12, length)) + entry
        return _OP_BYTES[op] + _field(0x12, _field(0x12, entry))  # Update.entity = 2 { table_entry = 2 }

    def _lpm_entry_head(self, prefix: IPv4Network) -> bytes:
        """TableEntry.table_id and match for a route, put together in one go: once per route installed."""
        length = prefix.prefixlen
        if length == 0:
            return self._lpm_head  # a don't-care LPM field is left out
        address = int(prefix.network_address)
        value = address.to_bytes((address.bit_length() + 7) // 8 or 1, "big")  # canonical()
        field_id, size = self._lpm_field_id, len(value)
        # match = 2 { field_id = 1, lpm = 4 { value = 1, prefix_len = 2 } }: every length fits one byte.
        return (
            self._lpm_head
            + bytes((0x12, len(field_id) + size + 6))
            + field_id
            + bytes((0x22, size + 4, 0x0A, size))
            + value
            + bytes((0x10, length))
        )

    def _exact_match(self, table: Table, key: Hashable) -> bytes:
        """TableEntry.match of an exact-match table: match = 2 { field_id = 1, exact = 2 { value = 1 } }."""
        assert isinstance(key, (int, IPv4Address))
        field = self._field_id_bytes[table] + _field(0x12, _field(0x0A, canonical(int(key))))
        return _field(0x12, field)

    def _action_field(self, table: Table, value: EntryValue) -> bytes:
        """TableEntry.action { TableAction.action }, remembered per value object: routes share next hops."""
        cache = self._action_cache[table]
        cached = cache.get(id(value))
        if cached is not None and cached[0] is value:  # the cache holds the object, so its id is its own
            return cached[1]
        encoded = _field(0x1A, _field(0x0A, self._action(table, value)))
        if len(cache) >= ACTION_CACHE_SIZE:
            cache.clear()
        cache[id(value)] = (value, encoded)
        return encoded

    def _action(self, table: Table, value: EntryValue) -> bytes:
        params: dict[str, int]
        if table is Table.ROUTER_MAC:
            name, params = "ingress.set_router_mac", {"mac": _mac(value).value}
        elif table is Table.PORT_MAC:
            name, params = "egress.set_src_mac", {"mac": _mac(value).value}
        elif table is Table.ARP:
            name, params = "ingress.set_dmac", {"mac": _mac(value).value}
        elif table is Table.LOCAL_IP:
            name, params = "ingress.deliver_local", {}
        elif isinstance(value, NextHop):
            name, params = "ingress.set_nexthop", {"nhop_ip": int(value.ip), "port": value.port}
        elif isinstance(value, Direct):
            name, params = "ingress.set_direct", {"port": value.port}
        else:
            assert isinstance(value, NullRoute)
            name, params = "ingress.drop", {}
        ids = self._actions[name]
        out = ids.prefix
        for param, number in params.items():
            # Action.params = 4 { param_id = 2, value = 3 }
            out += _field(0x22, ids.param_prefix(param) + _field(0x1A, canonical(number)))
        return out

    @staticmethod
    def write_request(device_id: int, election_id: int, updates: list[bytes]) -> bytes:
        """A serialized ``p4.v1.WriteRequest`` carrying already serialized updates."""
        election = b"\x08" + _varint(election_id >> 64) + b"\x10" + _varint(election_id & (1 << 64) - 1)
        head = b"\x08" + _varint(device_id) + _field(0x1A, election)  # device_id = 1, election_id = 3
        return head + b"".join(_field(0x22, u) for u in updates)  # updates = 4

    # --- decoding --------------------------------------------------------------

    def decode(self, entry: p4r.TableEntry) -> tuple[EntryKey, EntryValue] | None:
        """An entry read from the switch, or None if it is not in one of our tables."""
        table = self._tables_by_id.get(entry.table_id)
        if table is None or entry.is_default_action:
            return None
        key: Hashable
        if table is Table.IPV4_LPM:
            if entry.match:
                lpm = entry.match[0].lpm
                key = IPv4Network((int.from_bytes(lpm.value, "big"), lpm.prefix_len))
            else:
                key = IPv4Network("0.0.0.0/0")
        else:
            raw = int.from_bytes(entry.match[0].exact.value, "big")
            key = raw if table in (Table.ROUTER_MAC, Table.PORT_MAC) else IPv4Address(raw)
        action = entry.action.action
        name = self._action_names.get(action.action_id)
        ids = self._actions.get(name or "")
        by_id = {v: k for k, v in ids.params.items()} if ids else {}
        params = {by_id.get(p.param_id, "?"): int.from_bytes(p.value, "big") for p in action.params}
        value: EntryValue
        if name in ("ingress.set_router_mac", "egress.set_src_mac", "ingress.set_dmac"):
            value = MacAddress(params["mac"])
        elif name == "ingress.deliver_local":
            value = DELIVER_LOCAL
        elif name == "ingress.set_nexthop":
            value = NextHop(IPv4Address(params["nhop_ip"]), params["port"])
        elif name == "ingress.set_direct":
            value = Direct(params["port"])
        elif name == "ingress.drop":
            value = NullRoute()
        else:
            raise P4InfoMismatch(f"{table.value}: entry with unexpected action id {action.action_id}")
        return (table, key), value


def _mac(value: EntryValue) -> MacAddress:
    assert isinstance(value, MacAddress)
    return value
