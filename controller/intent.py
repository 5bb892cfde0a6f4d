"""What the controller wants the data plane to hold, and the writes that get it there.

The intent is a flat map ``(table, key) -> value`` over the five P4Runtime
tables. Subsystems change it in change sets; :func:`plan` turns the
difference between what is installed and what is wanted into the minimal
list of INSERT/MODIFY/DELETE updates: at most one per entry, none for an
entry that is already right. Reconciliation after a reconnect is the same
function applied to what was read back from the switch.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network
from typing import NamedTuple

from sim.model.codes import DEFAULT_NUM_PORTS
from sim.model.tables import MacAddress, RouteAction, TableState


class Table(StrEnum):
    """The P4Runtime tables the controller programs, by P4Info name."""

    ROUTER_MAC = "ingress.router_mac"
    PORT_MAC = "egress.port_mac"
    LOCAL_IP = "ingress.local_ip"
    IPV4_LPM = "ingress.ipv4_lpm"
    ARP = "ingress.arp"


@dataclass(frozen=True)
class DeliverLocal:
    """``local_ip`` action ``deliver_local``: the address is the router's own."""


DELIVER_LOCAL = DeliverLocal()

EntryKey = tuple[Table, Hashable]
EntryValue = MacAddress | DeliverLocal | RouteAction
Entries = dict[EntryKey, EntryValue]
#: A change set: each entry's new value, or None to remove it.
ChangeSet = Mapping[EntryKey, EntryValue | None]


class Op(StrEnum):  # a str: it hashes in C (a plan's every update carries one)
    INSERT = "insert"
    MODIFY = "modify"
    DELETE = "delete"


class Update(NamedTuple):
    """One P4Runtime table update. A named tuple: plans make one per changed entry, so it must be cheap."""

    op: Op
    table: Table
    key: Hashable
    value: EntryValue | None  # None for DELETE

    @property
    def entry_key(self) -> EntryKey:
        return (self.table, self.key)


def plan(installed: Mapping[EntryKey, EntryValue], desired: Mapping[EntryKey, EntryValue]) -> list[Update]:
    """The updates that turn ``installed`` into ``desired``."""
    return plan_changes(installed, ((key, desired.get(key)) for key in installed.keys() | desired.keys()))


def plan_changes(
    installed: Mapping[EntryKey, EntryValue], changes: Iterable[tuple[EntryKey, EntryValue | None]]
) -> list[Update]:
    """The updates that bring ``installed`` to ``changes``: (entry, new value or None for absent) pairs.

    Deletes come first, then modifies, then inserts: a switch that applies a
    batch in order (BMv2 and ours do) frees table space before it needs it.
    One dictionary probe per entry: this runs for every route installed.
    """
    deletes, modifies, inserts = [], [], []
    for entry_key, want in changes:
        have = installed.get(entry_key)
        if have == want:
            continue
        table, key = entry_key
        if want is None:
            deletes.append(Update(Op.DELETE, table, key, None))
        elif have is None:
            inserts.append(Update(Op.INSERT, table, key, want))
        else:
            modifies.append(Update(Op.MODIFY, table, key, want))
    return deletes + modifies + inserts


def apply_changes(entries: Entries, changes: ChangeSet) -> None:
    """Make ``entries`` hold ``changes`` (None: remove the entry)."""
    # dict.update reuses the hashes the change set already holds (an IPv4Network hashes slowly).
    entries.update(changes)  # type: ignore[arg-type]
    for key, value in changes.items():
        if value is None:
            del entries[key]


# --- the model's TableState ----------------------------------------------------


def entries_of(state: TableState) -> Entries:
    """The entries a :class:`TableState` stands for."""
    entries: Entries = {}
    for port, mac in state.port_macs.items():
        entries[(Table.PORT_MAC, port)] = mac
    router_macs = state.port_macs if state.router_macs is None else state.router_macs
    for port, mac in router_macs.items():
        entries[(Table.ROUTER_MAC, port)] = mac
    for ip in state.local_ips:
        entries[(Table.LOCAL_IP, ip)] = DELIVER_LOCAL
    for prefix, action in state.routes.items():
        entries[(Table.IPV4_LPM, prefix)] = action
    for ip, mac in state.neighbours.items():
        entries[(Table.ARP, ip)] = mac
    return entries


def table_state_of(entries: Mapping[EntryKey, EntryValue], num_ports: int = DEFAULT_NUM_PORTS) -> TableState:
    """The model's view of ``entries``, so the reference pipeline can run on what is installed."""
    state = TableState(num_ports=num_ports)
    router_macs: dict[int, MacAddress] = {}
    for (table, key), value in entries.items():
        if table is Table.ROUTER_MAC:
            assert isinstance(key, int) and isinstance(value, MacAddress)
            router_macs[key] = value
        elif table is Table.PORT_MAC:
            assert isinstance(key, int) and isinstance(value, MacAddress)
            state.port_macs[key] = value
        elif table is Table.LOCAL_IP:
            assert isinstance(key, IPv4Address)
            state.local_ips.add(key)
        elif table is Table.IPV4_LPM:
            assert isinstance(key, IPv4Network)
            state.routes[key] = value  # type: ignore[assignment]
        else:
            assert isinstance(key, IPv4Address) and isinstance(value, MacAddress)
            state.neighbours[key] = value
    if router_macs != state.port_macs:
        state.router_macs = router_macs
    return state
