"""The model's data types: table state, MAC addresses, outcomes, and its input checks."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from sim.model import (
    BROADCAST_MAC,
    CPU_PORT,
    Direct,
    Drop,
    DropReason,
    Forward,
    MacAddress,
    NextHop,
    NullRoute,
    Punt,
    PuntReason,
    ReferencePipeline,
    TableState,
)
from sim.model.outcome import outcome_from_json, outcome_to_json
from sim.vectors.generate import TABLES


@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_state_json_round_trip(name: str) -> None:
    state = TABLES[name]()
    assert TableState.from_json(state.to_json()) == state


def test_table_state_json_is_canonical() -> None:
    data = TABLES["core4"]().to_json()
    assert [r["prefix"] for r in data["routes"]][:3] == ["10.0.1.0/24", "10.0.1.255/32", "10.0.2.0/24"]
    assert data["local_ips"] == sorted(data["local_ips"])


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (TableState(num_ports=0), "num_ports"),
        (TableState(num_ports=255), "num_ports"),
        (TableState(num_ports=2, port_macs={3: BROADCAST_MAC}), "port_macs: port 3"),
        (TableState(num_ports=2, router_macs={0: BROADCAST_MAC}), "router_macs: port 0"),
        (TableState(num_ports=2, routes={IPv4Network("10.0.0.0/8"): Direct(3)}), "route 10.0.0.0/8"),
        (
            TableState(num_ports=2, routes={IPv4Network("0.0.0.0/0"): NextHop(IPv4Address("1.2.3.4"), 0)}),
            "route 0.0.0.0/0",
        ),
    ],
)
def test_impossible_tables_are_refused_with_the_entry_named(state: TableState, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ReferencePipeline(state)


def test_json_route_with_host_bits_is_refused() -> None:
    data = {"routes": [{"prefix": "10.0.0.1/8", "action": "drop"}]}
    with pytest.raises(ValueError, match="host bits"):
        TableState.from_json(data)


def test_json_unknown_route_action_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown action 'teleport'"):
        TableState.from_json({"routes": [{"prefix": "10.0.0.0/8", "action": "teleport"}]})


@pytest.mark.parametrize(
    "text", ["", "00:11:22:33:44", "00:11:22:33:44:gg", "0:11:22:33:44:55", "001122334455"]
)
def test_bad_mac_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a MAC address"):
        MacAddress.parse(text)


def test_mac_address_classes() -> None:
    assert str(MacAddress.parse("02:00:5E:00:00:01")) == "02:00:5e:00:00:01"
    assert BROADCAST_MAC.is_broadcast and not BROADCAST_MAC.is_ipv4_multicast
    assert MacAddress.parse("01:00:5e:7f:ff:ff").is_ipv4_multicast
    assert not MacAddress.parse("01:00:5e:80:00:00").is_ipv4_multicast
    assert not MacAddress.parse("33:33:00:00:00:01").is_ipv4_multicast
    with pytest.raises(ValueError):
        MacAddress(1 << 48)
    with pytest.raises(ValueError):
        MacAddress.from_bytes(b"\x00" * 5)


@pytest.mark.parametrize("port", [0, 5, 254, 256, -1])
def test_frame_on_a_port_that_does_not_exist_is_a_caller_error(port: int) -> None:
    pipeline = ReferencePipeline(TABLES["core4"]())
    with pytest.raises(ValueError, match=f"ingress port {port}"):
        pipeline.process(b"\xff" * 64, port)
    assert not pipeline.counters.rx_port


def test_packet_in_header_layout() -> None:
    punt = Punt(PuntReason.TTL_EXPIRED, 0x0102, b"frame")
    assert punt.packet_in_bytes() == b"\x01\x02\x03frame"


@pytest.mark.parametrize(
    "outcome",
    [Forward(3, b"\x01\x02"), Punt(PuntReason.ARP_MISS, 2, b"\xaa"), Drop(DropReason.MARTIAN_SOURCE)],
)
def test_outcome_json_round_trip(outcome) -> None:
    assert outcome_from_json(outcome_to_json(outcome)) == outcome


def test_outcome_json_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown outcome kind"):
        outcome_from_json({"kind": "teleport"})


def test_cpu_port_counts_bytes_with_the_packet_out_header() -> None:
    pipeline = ReferencePipeline(TABLES["core4"]())
    outcome = pipeline.process(b"\x00\x02" + b"x" * 60, CPU_PORT)
    assert outcome == Forward(2, b"x" * 60)
    assert pipeline.counters.rx_port[CPU_PORT].bytes == 62
    assert pipeline.counters.tx_port[2].bytes == 62


def test_null_route_is_not_a_next_hop() -> None:
    state = TableState(num_ports=1, routes={IPv4Network("0.0.0.0/0"): NullRoute()})
    assert TableState.from_json(state.to_json()).routes == {IPv4Network("0.0.0.0/0"): NullRoute()}
