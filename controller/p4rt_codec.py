"""Table entries as P4Runtime protobufs, and back, by the P4Info's names.

The controller's entries (:mod:`controller.intent`) become ``p4.v1.Update``
messages directly, with IDs looked up once from the P4Info and values in
P4Runtime's canonical byte strings (no leading zero bytes): this is the hot
path of route installation, so it builds protobufs without an intermediate
object layer. Decoding accepts any byte width, so entries read back from a
switch that pads its values still compare equal.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from finsy.proto.p4.config.v1 import p4info_pb2
from finsy.proto.p4.v1 import p4runtime_pb2 as p4r

from sim.model.tables import Direct, MacAddress, NextHop, NullRoute

from .intent import DELIVER_LOCAL, EntryKey, EntryValue, Op, Table, Update

_OPS = {Op.INSERT: p4r.Update.INSERT, Op.MODIFY: p4r.Update.MODIFY, Op.DELETE: p4r.Update.DELETE}

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


@dataclass(frozen=True)
class _ActionIds:
    id: int
    params: dict[str, int]


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
        message = p4r.Update(type=_OPS[update.op])
        entry = message.entity.table_entry
        self._fill_key(entry, update.table, update.key)
        if update.value is not None:
            self._fill_action(entry.action.action, update.table, update.value)
        return message

    def _fill_key(self, entry: p4r.TableEntry, table: Table, key: Hashable) -> None:
        entry.table_id = self._table_ids[table]
        if table is Table.IPV4_LPM:
            assert isinstance(key, IPv4Network)
            if key.prefixlen == 0:
                return  # P4Runtime writes a /0 (don't care) LPM match by leaving the field out
            match = entry.match.add(field_id=self._field_ids[table])
            match.lpm.value = canonical(int(key.network_address))
            match.lpm.prefix_len = key.prefixlen
        else:
            match = entry.match.add(field_id=self._field_ids[table])
            assert isinstance(key, (int, IPv4Address))
            match.exact.value = canonical(int(key))

    def _fill_action(self, action: p4r.Action, table: Table, value: EntryValue) -> None:
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
        action.action_id = ids.id
        for param, number in params.items():
            p = action.params.add()
            p.param_id = ids.params[param]
            p.value = canonical(number)

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
