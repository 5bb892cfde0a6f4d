"""The P4Info (the committed one; test_p4_build.py checks it is current) is exactly the P4Runtime surface the controller and the HDL target use.

This is the contract of DESIGN.md §1 written out: table, action, counter and
controller-header names, match kinds, widths, parameters and sizes. Any
change to router.p4 that moves it fails here, without p4c.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from finsy.proto.p4.config.v1 import p4info_pb2

from sim.model.codes import DEFAULT_NUM_PORTS
from sim.p4build import load_p4info

from .builds import needs_build

pytestmark = needs_build

EXACT = p4info_pb2.MatchField.EXACT
LPM = p4info_pb2.MatchField.LPM
DEFAULT_ONLY = p4info_pb2.ActionRef.DEFAULT_ONLY
TABLE_AND_DEFAULT = p4info_pb2.ActionRef.TABLE_AND_DEFAULT
BOTH = p4info_pb2.CounterSpec.BOTH


@dataclass(frozen=True)
class TableContract:
    keys: tuple[tuple[str, int, int], ...]  # (name, match kind, bitwidth)
    actions: tuple[str, ...]  # usable in entries
    default_action: str  # const, default-only
    size: int


TABLES = {
    "ingress.router_mac": TableContract((("port", EXACT, 9),), ("ingress.set_router_mac",), "NoAction", 256),
    "egress.port_mac": TableContract((("port", EXACT, 9),), ("egress.set_src_mac",), "NoAction", 256),
    "ingress.local_ip": TableContract((("dst_addr", EXACT, 32),), ("ingress.deliver_local",), "NoAction", 64),
    "ingress.ipv4_lpm": TableContract(
        (("dst_addr", LPM, 32),),
        ("ingress.set_nexthop", "ingress.set_direct", "ingress.drop"),
        "ingress.no_route",
        16384,
    ),
    "ingress.arp": TableContract((("nhop_ip", EXACT, 32),), ("ingress.set_dmac",), "ingress.arp_miss", 1024),
}

ACTIONS = {
    "ingress.set_router_mac": (("mac", 48),),
    "egress.set_src_mac": (("mac", 48),),
    "ingress.deliver_local": (),
    "ingress.set_nexthop": (("nhop_ip", 32), ("port", 9)),
    "ingress.set_direct": (("port", 9),),
    "ingress.drop": (),
    "ingress.no_route": (),
    "ingress.set_dmac": (("mac", 48),),
    "ingress.arp_miss": (),
    "NoAction": (),
}

COUNTERS = {"ingress.rx_port": 256, "egress.tx_port": 256, "ingress.drops": 16, "ingress.punts": 8}

CONTROLLER_HEADERS = {
    "packet_out": (("egress_port", 16),),
    "packet_in": (("ingress_port", 16), ("reason", 8)),
}


@pytest.fixture(scope="module")
def p4info(router_builds):
    return load_p4info(router_builds(DEFAULT_NUM_PORTS).p4info)


def _action_names(p4info) -> dict[int, str]:
    return {action.preamble.id: action.preamble.name for action in p4info.actions}


def test_tables(p4info):
    assert {t.preamble.name for t in p4info.tables} == set(TABLES)
    names = _action_names(p4info)
    for table in p4info.tables:
        contract = TABLES[table.preamble.name]
        keys = tuple((m.name, m.match_type, m.bitwidth) for m in table.match_fields)
        assert keys == contract.keys, table.preamble.name
        refs = {names[ref.id]: ref.scope for ref in table.action_refs}
        assert refs == {
            **{name: TABLE_AND_DEFAULT for name in contract.actions},
            contract.default_action: DEFAULT_ONLY,
        }, table.preamble.name
        assert names[table.const_default_action_id] == contract.default_action, table.preamble.name
        assert table.size == contract.size, table.preamble.name


def test_actions(p4info):
    got = {a.preamble.name: tuple((p.name, p.bitwidth) for p in a.params) for a in p4info.actions}
    assert got == ACTIONS


def test_counters(p4info):
    got = {c.preamble.name: (c.spec.unit, c.size) for c in p4info.counters}
    assert got == {name: (BOTH, size) for name, size in COUNTERS.items()}


def test_controller_headers(p4info):
    got = {
        h.preamble.name: tuple((m.name, m.bitwidth) for m in h.metadata)
        for h in p4info.controller_packet_metadata
    }
    assert got == CONTROLLER_HEADERS


def test_nothing_else(p4info):
    for kind in ("direct_counters", "meters", "direct_meters", "registers", "digests", "action_profiles"):
        assert not getattr(p4info, kind), kind
    assert not p4info.value_sets and not p4info.externs
