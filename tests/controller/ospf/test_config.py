"""The [ospf] section: defaults, every setting, and errors that name the field."""

from __future__ import annotations

import tomllib
from ipaddress import IPv4Address

import pytest

from controller.ospf.config import NetworkType, OspfConfigError, parse_ospf_config
from controller.ospf.constants import AuthType

FULL = """
[ospf]
router_id = "10.0.0.1"
spf_delay = 0.2
min_ls_interval = 0.5
min_ls_arrival = 0.25

[ospf.interfaces.eth1]
network = "point-to-point"
cost = 5
hello_interval = 1
dead_interval = 3
priority = 0
retransmit_interval = 2
transmit_delay = 2
mtu = 9000
mtu_ignore = true
authentication = "simple"
password = "s3cret"

[ospf.interfaces.eth2]
passive = true
"""


def test_every_setting():
    config = parse_ospf_config(tomllib.loads(FULL)["ospf"])
    assert config.router_id == IPv4Address("10.0.0.1")
    assert (config.spf_delay, config.min_ls_interval, config.min_ls_arrival) == (0.2, 0.5, 0.25)
    eth1 = config.interfaces["eth1"]
    assert (eth1.network, eth1.cost, eth1.hello_interval, eth1.dead_interval) == (
        NetworkType.POINT_TO_POINT,
        5,
        1,
        3,
    )
    assert (eth1.priority, eth1.retransmit_interval, eth1.transmit_delay, eth1.mtu_ignore) == (0, 2, 2, True)
    assert eth1.mtu == 9000
    assert eth1.authentication.type == AuthType.SIMPLE and eth1.authentication.key == b"s3cret"
    eth2 = config.interfaces["eth2"]
    assert eth2.passive and eth2.network == NetworkType.BROADCAST
    assert (eth2.cost, eth2.hello_interval, eth2.dead_interval, eth2.priority) == (10, 10, 40, 1)


def test_empty_section_is_valid():
    config = parse_ospf_config({})
    assert config.router_id is None and config.interfaces == {}
    assert (config.spf_delay, config.min_ls_interval, config.min_ls_arrival) == (0.05, 5.0, 1.0)  # RFC 2328


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"router_id": "1.2.3"}, "ospf.router_id"),
        ({"router_id": 7}, "ospf.router_id"),
        ({"spf_delay": -1}, "ospf.spf_delay"),
        ({"min_ls_interval": "5"}, "ospf.min_ls_interval"),
        ({"min_ls_arrival": 61}, "ospf.min_ls_arrival"),
        ({"colour": "red"}, "ospf.colour"),
        ({"interfaces": []}, "ospf.interfaces"),
        ({"interfaces": {"eth1": 3}}, "ospf.interfaces.eth1"),
        ({"interfaces": {"eth1": {"cost": 0}}}, "ospf.interfaces.eth1.cost"),
        ({"interfaces": {"eth1": {"cost": True}}}, "ospf.interfaces.eth1.cost"),
        ({"interfaces": {"eth1": {"priority": 256}}}, "ospf.interfaces.eth1.priority"),
        ({"interfaces": {"eth1": {"mtu": 100}}}, "ospf.interfaces.eth1.mtu"),
        ({"interfaces": {"eth1": {"network": "nbma"}}}, "ospf.interfaces.eth1.network"),
        ({"interfaces": {"eth1": {"passive": "yes"}}}, "ospf.interfaces.eth1.passive"),
        (
            {"interfaces": {"eth1": {"hello_interval": 5, "dead_interval": 5}}},
            "ospf.interfaces.eth1.dead_interval",
        ),
        ({"interfaces": {"eth1": {"authentication": "md5"}}}, "ospf.interfaces.eth1.authentication"),
        ({"interfaces": {"eth1": {"authentication": "simple"}}}, "ospf.interfaces.eth1.password"),
        (
            {"interfaces": {"eth1": {"authentication": "simple", "password": "123456789"}}},
            "ospf.interfaces.eth1.password",
        ),
        ({"interfaces": {"eth1": {"password": "x"}}}, "ospf.interfaces.eth1.password"),
        ({"interfaces": {"eth1": {"hello": 1}}}, "ospf.interfaces.eth1.hello"),
    ],
)
def test_errors_name_the_field(raw, field):
    with pytest.raises(OspfConfigError) as error:
        parse_ospf_config(raw)
    assert error.value.field == field
    assert str(error.value).startswith(f"{field}: ")


def test_one_second_dead_interval_is_allowed():
    config = parse_ospf_config({"interfaces": {"eth1": {"hello_interval": 1, "dead_interval": 2}}})
    assert config.interfaces["eth1"].dead_interval == 2


def test_sub_second_hellos_with_a_one_second_dead_interval():
    raw = {"interfaces": {"eth1": {"dead_interval": 1, "hello_multiplier": 4}}}
    eth1 = parse_ospf_config(raw).interfaces["eth1"]
    assert (eth1.hello_period, eth1.advertised_hello_interval, eth1.dead_interval) == (0.25, 0, 1)
    for bad, field in (
        ({"hello_multiplier": 4}, "dead_interval"),
        ({"dead_interval": 1, "hello_multiplier": 4, "hello_interval": 1}, "hello_interval"),
        ({"dead_interval": 1, "hello_multiplier": 1}, "hello_multiplier"),
        ({"dead_interval": 1, "hello_multiplier": 21}, "hello_multiplier"),
    ):
        with pytest.raises(OspfConfigError) as error:
            parse_ospf_config({"interfaces": {"eth1": bad}})
        assert error.value.field == f"ospf.interfaces.eth1.{field}"
