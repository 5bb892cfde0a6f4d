"""Entries to P4Runtime protobufs and back, by the committed P4Info's names and IDs."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest
from finsy import P4Schema
from finsy.proto.p4.v1 import p4runtime_pb2 as p4r
from hypothesis import given
from hypothesis import strategies as st

from controller.intent import DELIVER_LOCAL, Op, Table, Update, table_state_of
from controller.p4rt_codec import EntryCodec, P4InfoMismatch, canonical
from sim.model import Direct, MacAddress, NextHop, NullRoute
from sim.p4build import P4INFO_PATH, load_p4info
from sim.p4rt_tables import table_entries
from tests.needs import P4INFO_MISSING

if not P4INFO_PATH.exists():
    pytest.skip(P4INFO_MISSING, allow_module_level=True)  # p4c has not produced p4/build yet
P4INFO = load_p4info()
CODEC = EntryCodec(P4INFO)
IDS = {p.preamble.name: p.preamble.id for kind in ("tables", "actions") for p in getattr(P4INFO, kind)}

macs = st.integers(1, (1 << 48) - 1).map(MacAddress)
ips = st.integers(0, (1 << 32) - 1).map(IPv4Address)
ports = st.integers(1, 254)
prefixes = st.tuples(st.integers(0, (1 << 32) - 1), st.integers(0, 32)).map(
    lambda t: IPv4Network((t[0] >> (32 - t[1]) << (32 - t[1]) if t[1] else 0, t[1]))
)
route_actions = st.one_of(st.builds(NextHop, ips, ports), st.builds(Direct, ports), st.just(NullRoute()))
entries = st.one_of(
    st.tuples(st.just(Table.ROUTER_MAC), ports, macs),
    st.tuples(st.just(Table.PORT_MAC), ports, macs),
    st.tuples(st.just(Table.LOCAL_IP), ips, st.just(DELIVER_LOCAL)),
    st.tuples(st.just(Table.IPV4_LPM), prefixes, route_actions),
    st.tuples(st.just(Table.ARP), ips, macs),
)


@given(entries, st.sampled_from([Op.INSERT, Op.MODIFY]))
def test_every_entry_survives_encode_then_decode(entry, op):
    table, key, value = entry
    message = CODEC.update(Update(op, table, key, value))
    assert message.type == {Op.INSERT: p4r.Update.INSERT, Op.MODIFY: p4r.Update.MODIFY}[op]
    assert message.entity.table_entry.table_id == IDS[table.value]
    assert CODEC.decode(message.entity.table_entry) == ((table, key), value)
    for match in message.entity.table_entry.match:
        raw = match.exact.value or match.lpm.value
        assert raw == canonical(int.from_bytes(raw, "big"))  # no leading zero bytes
    for param in message.entity.table_entry.action.action.params:
        assert param.value == canonical(int.from_bytes(param.value, "big"))


def test_actions_are_the_contract_names():
    def action_id(table, key, value):
        return CODEC.update(Update(Op.INSERT, table, key, value)).entity.table_entry.action.action.action_id

    gw = IPv4Address("10.0.0.1")
    net = IPv4Network("10.0.0.0/8")
    assert action_id(Table.IPV4_LPM, net, NextHop(gw, 1)) == IDS["ingress.set_nexthop"]
    assert action_id(Table.IPV4_LPM, net, Direct(1)) == IDS["ingress.set_direct"]
    assert action_id(Table.IPV4_LPM, net, NullRoute()) == IDS["ingress.drop"]
    assert action_id(Table.ROUTER_MAC, 1, MacAddress(5)) == IDS["ingress.set_router_mac"]
    assert action_id(Table.PORT_MAC, 1, MacAddress(5)) == IDS["egress.set_src_mac"]
    assert action_id(Table.LOCAL_IP, gw, DELIVER_LOCAL) == IDS["ingress.deliver_local"]
    assert action_id(Table.ARP, gw, MacAddress(5)) == IDS["ingress.set_dmac"]


def test_a_default_route_leaves_the_lpm_field_out_and_a_delete_has_no_action():
    message = CODEC.update(Update(Op.DELETE, Table.IPV4_LPM, IPv4Network("0.0.0.0/0"), None))
    entry = message.entity.table_entry
    assert message.type == p4r.Update.DELETE
    assert len(entry.match) == 0 and not entry.HasField("action")


def test_padded_values_read_back_from_a_switch_decode_the_same():
    message = CODEC.update(Update(Op.INSERT, Table.ARP, IPv4Address("0.0.0.7"), MacAddress(9)))
    entry = message.entity.table_entry
    entry.match[0].exact.value = bytes(4 - len(entry.match[0].exact.value)) + entry.match[0].exact.value
    entry.action.action.params[0].value = bytes(5) + entry.action.action.params[0].value
    assert CODEC.decode(entry) == ((Table.ARP, IPv4Address("0.0.0.7")), MacAddress(9))


def test_a_p4info_without_a_table_the_controller_programs_is_refused_by_name():
    broken = type(P4INFO)()
    broken.CopyFrom(P4INFO)
    keep = [t for t in broken.tables if t.preamble.name != "ingress.arp"]
    del broken.tables[:]
    broken.tables.extend(keep)
    with pytest.raises(P4InfoMismatch, match=r"ingress\.arp"):
        EntryCodec(broken)


def test_the_wire_bytes_are_what_protobuf_builds_field_by_field():
    route = Update(
        Op.INSERT, Table.IPV4_LPM, IPv4Network("10.1.0.0/16"), NextHop(IPv4Address("10.0.2.254"), 2)
    )
    expected = p4r.Update(type=p4r.Update.INSERT)
    entry = expected.entity.table_entry
    entry.table_id = IDS["ingress.ipv4_lpm"]
    table = next(t for t in P4INFO.tables if t.preamble.name == "ingress.ipv4_lpm")
    match = entry.match.add(field_id=table.match_fields[0].id)
    match.lpm.value = bytes([10, 1, 0, 0])
    match.lpm.prefix_len = 16
    action = next(a for a in P4INFO.actions if a.preamble.name == "ingress.set_nexthop")
    entry.action.action.action_id = action.preamble.id
    param_ids = {p.name: p.id for p in action.params}
    entry.action.action.params.add(param_id=param_ids["nhop_ip"], value=bytes([10, 0, 2, 254]))
    entry.action.action.params.add(param_id=param_ids["port"], value=b"\x02")
    assert p4r.Update.FromString(CODEC.update_bytes(route)) == expected


def test_a_write_request_carries_device_election_and_updates():
    updates = [
        CODEC.update_bytes(Update(Op.DELETE, Table.ARP, IPv4Address("10.0.0.1"), None)),
        CODEC.update_bytes(Update(Op.INSERT, Table.LOCAL_IP, IPv4Address("10.0.0.2"), DELIVER_LOCAL)),
    ]
    election = (3 << 64) | 300
    request = p4r.WriteRequest.FromString(EntryCodec.write_request(1, election, updates))
    assert request.device_id == 1
    assert (request.election_id.high, request.election_id.low) == (3, 300)
    assert [u.SerializeToString() for u in request.updates] == updates


@given(entries)
def test_the_codec_agrees_with_the_finsy_translation_in_sim_p4rt_tables(entry):
    # Two translations exist: sim/p4rt_tables (finsy entities, for the harnesses) and this wire
    # codec (the controller's hot path). They must write the same table entries.
    table, key, value = entry
    state = table_state_of({(table, key): value}, num_ports=254)
    schema = P4Schema(P4INFO)
    [theirs] = [e.encode_entry(schema) for e in table_entries(state)]
    ours = p4r.Update.FromString(CODEC.update_bytes(Update(Op.INSERT, table, key, value))).entity.table_entry
    assert ours == theirs
