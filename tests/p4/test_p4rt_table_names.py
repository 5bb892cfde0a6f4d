"""The entries sim/p4rt_tables.py writes use the contract's names (the surface every target serves)."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network

from sim.model import Direct, MacAddress, NextHop, NullRoute, TableState
from sim.p4rt_server.surface import router_surface
from sim.p4rt_tables import route_entry, table_entries

SURFACE = router_surface()
ACTIONS = {action.name: action for action in SURFACE.actions}


def _check_against_surface(entry) -> None:
    table = SURFACE.table(entry.table_id)
    assert set(entry.match) <= {field.name for field in table.match_fields}, entry
    assert entry.action.name in table.actions, entry
    params = {param.name: param.bitwidth for param in ACTIONS[entry.action.name].params}
    assert set(entry.action.args) == set(params), entry
    for name, value in entry.action.args.items():
        assert 0 <= value < 1 << params[name], entry


def test_every_corpus_state_uses_the_contract_names(corpus):
    states = {json.dumps(v.tables.to_json(), sort_keys=True): v.tables for v in corpus}
    for state in states.values():
        entries = table_entries(state)
        router_macs = state.port_macs if state.router_macs is None else state.router_macs
        tables = (router_macs, state.port_macs, state.local_ips, state.routes, state.neighbours)
        assert len(entries) == sum(len(table) for table in tables)
        for entry in entries:
            _check_against_surface(entry)


def test_route_actions():
    prefix = IPv4Network("10.1.0.0/16")
    hop = route_entry(prefix, NextHop(IPv4Address("192.0.2.1"), 2))
    assert (hop.action.name, hop.action.args) == ("ingress.set_nexthop", {"nhop_ip": 0xC0000201, "port": 2})
    direct = route_entry(prefix, Direct(4))
    assert (direct.action.name, direct.action.args) == ("ingress.set_direct", {"port": 4})
    null = route_entry(prefix, NullRoute())
    assert (null.action.name, null.action.args) == ("ingress.drop", {})
    assert hop.match == {"dst_addr": (0x0A010000, 16)}


def test_router_macs_given_apart_from_port_macs():
    port_mac = MacAddress.parse("02:00:00:00:00:01")
    router_mac = MacAddress.parse("02:00:00:00:00:99")
    state = TableState(port_macs={1: port_mac}, router_macs={1: router_mac, 2: router_mac})
    by_table: dict[str, list[int]] = {}
    for entry in table_entries(state):
        by_table.setdefault(entry.table_id, []).append(entry.action.args["mac"])
    assert by_table == {"ingress.router_mac": [router_mac.value] * 2, "egress.port_mac": [port_mac.value]}


def test_empty_state_has_no_entries():
    assert table_entries(TableState()) == []
