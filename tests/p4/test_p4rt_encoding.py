"""TableState -> P4Runtime entries, encoded against the committed P4Info (no switch needed).

Name-level checks against the contract surface are in test_p4rt_table_names.py.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from finsy import P4Schema

from sim.model import Direct, MacAddress, NextHop, NullRoute
from sim.model.codes import DEFAULT_NUM_PORTS
from sim.p4rt_tables import (
    local_ip_entry,
    neighbour_entry,
    port_mac_entry,
    route_entry,
    router_mac_entry,
    table_entries,
)

from .builds import needs_build

pytestmark = needs_build


@pytest.fixture(scope="module")
def schema(router_builds):
    return P4Schema(router_builds(DEFAULT_NUM_PORTS).p4info)


def _encode(entry, schema):
    return entry.encode(schema).table_entry


def _action(message, schema):
    action = message.action.action
    info = schema.actions[action.action_id]
    params = {info.params[p.param_id].name: int.from_bytes(p.value, "big") for p in action.params}
    return info.name, params


def _match(message, schema):
    table = schema.tables[message.table_id]
    fields = {}
    for field in message.match:
        name = table.match_fields[field.field_id].name
        if field.HasField("lpm"):
            fields[name] = (int.from_bytes(field.lpm.value, "big"), field.lpm.prefix_len)
        else:
            fields[name] = int.from_bytes(field.exact.value, "big")
    return table.name, fields


def test_every_corpus_state_encodes(corpus, schema):
    # Entry counts and names are checked in test_p4rt_table_names.py; here each must encode.
    for vector in corpus:
        for entry in table_entries(vector.tables):
            _encode(entry, schema)


def test_port_mac_feeds_both_mac_tables(schema):
    mac = MacAddress.parse("02:00:00:00:00:07")
    for entry, table, action in (
        (router_mac_entry(3, mac), "ingress.router_mac", "ingress.set_router_mac"),
        (port_mac_entry(3, mac), "egress.port_mac", "egress.set_src_mac"),
    ):
        message = _encode(entry, schema)
        assert _match(message, schema) == (table, {"port": 3})
        assert _action(message, schema) == (action, {"mac": mac.value})


def test_local_and_neighbour_entries(schema):
    address = IPv4Address("10.0.0.1")
    message = _encode(local_ip_entry(address), schema)
    assert _match(message, schema) == ("ingress.local_ip", {"dst_addr": int(address)})
    assert _action(message, schema) == ("ingress.deliver_local", {})
    mac = MacAddress.parse("02:aa:00:00:00:01")
    message = _encode(neighbour_entry(address, mac), schema)
    assert _match(message, schema) == ("ingress.arp", {"nhop_ip": int(address)})
    assert _action(message, schema) == ("ingress.set_dmac", {"mac": mac.value})


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (NextHop(IPv4Address("192.0.2.1"), 2), ("ingress.set_nexthop", {"nhop_ip": 0xC0000201, "port": 2})),
        (Direct(4), ("ingress.set_direct", {"port": 4})),
        (NullRoute(), ("ingress.drop", {})),
    ],
)
def test_route_actions(schema, action, expected):
    message = _encode(route_entry(IPv4Network("10.1.0.0/16"), action), schema)
    assert _match(message, schema) == ("ingress.ipv4_lpm", {"dst_addr": (0x0A010000, 16)})
    assert _action(message, schema) == expected


def test_default_route_is_a_dont_care_match(schema):
    # P4Runtime: an LPM field with prefix length 0 is omitted from the entry.
    message = _encode(route_entry(IPv4Network("0.0.0.0/0"), Direct(1)), schema)
    assert _match(message, schema) == ("ingress.ipv4_lpm", {})
