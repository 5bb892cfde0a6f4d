"""plan() and plan_changes(): the minimal updates between what is installed and what is wanted."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from hypothesis import given
from hypothesis import strategies as st

from controller.intent import (
    DELIVER_LOCAL,
    Op,
    Table,
    apply_changes,
    entries_of,
    plan,
    plan_changes,
    table_state_of,
)
from sim.model import Direct, MacAddress, NextHop, NullRoute

keys = st.one_of(
    st.tuples(st.sampled_from([Table.ROUTER_MAC, Table.PORT_MAC]), st.integers(1, 4)),
    st.tuples(st.sampled_from([Table.LOCAL_IP, Table.ARP]), st.integers(0, 7).map(lambda n: IPv4Address(n))),
    st.tuples(st.just(Table.IPV4_LPM), st.integers(0, 3).map(lambda n: IPv4Network((n << 8, 24)))),
)


def _value(key, choice: int):
    table = key[0]
    if table is Table.LOCAL_IP:
        return DELIVER_LOCAL
    if table is Table.IPV4_LPM:
        return [NullRoute(), Direct(1), NextHop(IPv4Address("10.0.0.1"), 2)][choice % 3]
    return MacAddress(1 + choice % 3)


entries = st.dictionaries(keys, st.integers(0, 2)).map(lambda d: {k: _value(k, c) for k, c in d.items()})


@given(entries, entries)
def test_the_plan_turns_installed_into_desired_with_one_update_per_changed_entry(installed, desired):
    updates = plan(installed, desired)
    keys_touched = [u.entry_key for u in updates]
    assert len(keys_touched) == len(set(keys_touched))
    changed = {k for k in installed.keys() | desired.keys() if installed.get(k) != desired.get(k)}
    assert set(keys_touched) == changed
    for update in updates:
        expected = Op.DELETE if update.entry_key not in desired else Op.MODIFY
        if update.entry_key not in installed:
            expected = Op.INSERT
        assert update.op is expected
    ops = [u.op for u in updates]
    assert ops == sorted(ops, key=[Op.DELETE, Op.MODIFY, Op.INSERT].index)  # deletes first
    result = dict(installed)
    apply_changes(result, {u.entry_key: u.value for u in updates})
    assert result == desired
    assert plan(result, desired) == []


@given(entries, entries, st.lists(keys))
def test_planning_some_changes_is_planning_those_entries_of_the_whole(installed, desired, some):
    changes = {key: desired.get(key) for key in some}
    expected = {u for u in plan(installed, desired) if u.entry_key in changes}
    assert set(plan_changes(installed, changes.items())) == expected
    result = dict(installed)
    apply_changes(result, changes)
    assert all(result.get(key) == value for key, value in changes.items())


@given(entries)
def test_table_state_round_trip(state_entries):
    assert entries_of(table_state_of(state_entries, 4)) == state_entries
