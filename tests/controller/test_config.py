"""Config files: good ones load, bad ones name the file, the line and the field."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from controller.config import ConfigError, load_config, parse_config
from sim.model import MacAddress

from .conftest import ROUTER_TOML


def test_the_example_config_loads_into_records(config):
    assert config.router_id == IPv4Address("1.1.1.1")
    assert [i.name for i in config.interfaces] == ["eth1", "eth2"]
    eth2 = config.interface_by_name("eth2")
    assert eth2.port == 2
    assert eth2.mac == MacAddress.parse("02:00:00:00:02:01")
    assert eth2.address == IPv4Interface("10.0.2.1/24")
    assert config.static_routes[0].prefix == IPv4Network("192.168.0.0/16")
    assert config.static_routes[0].next_hop == IPv4Address("10.0.2.254")
    assert config.static_routes[1].null
    assert config.arp.queue_length == 3
    assert config.icmp.error_burst == 2
    assert config.icmp.echo_burst == 100  # default
    assert config.ospf == {}


def test_the_ospf_section_passes_through_untouched():
    config = parse_config(ROUTER_TOML + '\n[ospf]\narea = "0.0.0.0"\n[ospf.interfaces.eth1]\ncost = 7\n')
    assert config.ospf == {"area": "0.0.0.0", "interfaces": {"eth1": {"cost": 7}}}


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "/etc/r9.toml")
    return caught.value


def _line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_a_syntax_error_names_file_and_line():
    text = ROUTER_TOML.replace("port = 2\n", "port = = 2\n")
    error = _error(text)
    assert error.path == "/etc/r9.toml"
    assert error.line == _line_of(text, "port = = 2")
    assert str(error).startswith(f"/etc/r9.toml:{error.line}: TOML syntax")


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('mac = "02:00:00:00:02:01"', 'mac = "02:00:00:00:02"', "interface[1].mac", "not a MAC"),
        ('mac = "02:00:00:00:02:01"', 'mac = "03:00:00:00:02:01"', "interface[1].mac", "group address"),
        ('address = "10.0.2.1/24"', 'address = "10.0.2.1"', "interface[1].address", "prefix length"),
        ('address = "10.0.2.1/24"', 'address = "10.0.2.0/24"', "interface[1].address", "network"),
        ('address = "10.0.2.1/24"', 'address = "10.0.1.7/16"', "interface[1].address", "overlaps"),
        ("port = 2", "port = 1", "interface[1].port", "already"),
        ("port = 2", "port = 9", "interface[1].port", "1..4"),
        ("port = 2", 'port = "2"', "interface[1].port", "integer"),
        ('name = "eth2"', 'name = "eth1"', "interface[1].name", "already"),
        ('router_id = "1.1.1.1"', 'router_id = "1.1.1"', "router_id", "IPv4 address"),
        ('next_hop = "10.0.2.254"', 'next_hop = "10.0.2.254"\nnull = true', "static_route[0]", "exactly one"),
        ('prefix = "192.168.0.0/16"', 'prefix = "192.168.0.1/16"', "static_route[0].prefix", "host bits"),
        ("null = true", 'interface = "eth7"', "static_route[1].interface", "no interface named"),
        ("max_retries = 2", "max_retries = -1", "arp.max_retries", "0..100"),
        ("refresh_margin = 10.0", "refresh_margin = 90.0", "arp.refresh_margin", "shorter"),
        ("error_rate = 1.0", "error_rate = -1.0", "icmp.error_rate", "at least"),
        ("queue_length = 3", "queue_lenght = 3", "arp.queue_lenght", "unknown key"),
    ],
)
def test_a_bad_value_names_its_line_and_field(old, new, field, words):
    assert ROUTER_TOML.count(old) == 1
    text = ROUTER_TOML.replace(old, new)
    error = _error(text)
    assert error.field == field
    # The line of the changed key; a whole-table problem points at the table's header.
    expected_line = ROUTER_TOML[: ROUTER_TOML.index(old)].count("\n") + 1
    if field.endswith("]"):
        header = ROUTER_TOML[: ROUTER_TOML.index(old)].rfind("[[")
        expected_line = ROUTER_TOML[:header].count("\n") + 1
    assert error.line == expected_line, str(error)
    assert words in error.message
    assert str(error) == f"/etc/r9.toml:{expected_line}: {field}: {error.message}"


def test_a_missing_section_or_key_is_named():
    error = _error('router_id = "1.1.1.1"\n')
    assert error.field == "interface"
    assert "at least one" in error.message
    error = _error(ROUTER_TOML.replace('router_id = "1.1.1.1"\n', ""))
    assert (error.field, error.message) == ("router_id", "missing")


def test_an_unknown_top_level_key_is_rejected():
    error = _error("routerid = 3\n" + ROUTER_TOML)
    assert (error.field, error.line) == ("routerid", 1)


def test_an_unreadable_file_is_a_config_error(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read"):
        load_config(missing)
    good = tmp_path / "r1.toml"
    good.write_text(ROUTER_TOML)
    assert load_config(good).path == good
