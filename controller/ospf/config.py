"""OSPF settings: the ``[ospf]`` section of a router's TOML, parsed into dataclasses.

    [ospf]
    router_id = "10.0.0.1"      # optional: defaults to the router's own router id
    spf_delay = 0.05            # seconds from a database change to the SPF run
    min_ls_interval = 5         # seconds between two originations of one LSA (RFC 2328's MinLSInterval)
    min_ls_arrival = 1          # seconds within which a newer copy from a neighbour is refused (MinLSArrival)

    [ospf.interfaces.eth1]      # keyed by the interface name of the router's config
    network = "point-to-point"  # or "broadcast" (the default)
    cost = 10
    hello_interval = 1
    dead_interval = 3
    # or, for sub-second failure detection as FRR's "dead-interval minimal hello-multiplier 4":
    # dead_interval = 1 and hello_multiplier = 4 (hellos every 250 ms, advertised HelloInterval 0)
    priority = 1                # 0: never DR or BDR
    passive = false             # advertise the subnet, send no hellos
    retransmit_interval = 5
    transmit_delay = 1
    mtu = 1500                  # the link's IP MTU: sent in DDs, sizes our packets
    mtu_ignore = false          # accept neighbours announcing a larger MTU
    authentication = "none"     # or "simple", with password = "up to 8 bytes"

Interfaces absent from ``[ospf.interfaces]`` take no part in OSPF. Errors
name the offending field (``ospf.interfaces.eth1.cost``); the controller's
config loader adds the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from ipaddress import AddressValueError, IPv4Address
from typing import Any

from controller.ospf.constants import MIN_LS_ARRIVAL, MIN_LS_INTERVAL, AuthType
from controller.ospf.packets import Authentication


class OspfConfigError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


class NetworkType(StrEnum):
    BROADCAST = "broadcast"
    POINT_TO_POINT = "point-to-point"


@dataclass(frozen=True, slots=True)
class OspfInterfaceConfig:
    network: NetworkType = NetworkType.BROADCAST
    cost: int = 10
    hello_interval: int = 10
    dead_interval: int = 40
    priority: int = 1
    passive: bool = False
    retransmit_interval: int = 5
    transmit_delay: int = 1
    mtu: int = 1500
    mtu_ignore: bool = False
    authentication: Authentication = field(default_factory=Authentication)
    #: hellos per second with a 1-second dead interval (FRR's "dead-interval minimal"); None: off
    hello_multiplier: int | None = None

    @property
    def hello_period(self) -> float:
        """Seconds between our hellos."""
        return 1 / self.hello_multiplier if self.hello_multiplier else self.hello_interval

    @property
    def advertised_hello_interval(self) -> int:
        """The HelloInterval field: 0 with sub-second hellos, as FRR sends and expects."""
        return 0 if self.hello_multiplier else self.hello_interval


@dataclass(frozen=True, slots=True)
class OspfConfig:
    router_id: IPv4Address | None = None
    spf_delay: float = 0.05
    interfaces: dict[str, OspfInterfaceConfig] = field(default_factory=dict)
    #: RFC 2328's architectural constants, which fast-converging networks shorten (as FRR's
    #: ``timers throttle lsa all`` and ``timers lsa min-arrival`` do); keep min_ls_arrival at most
    #: min_ls_interval everywhere, or a neighbour refuses a router's quick second origination
    min_ls_interval: float = MIN_LS_INTERVAL
    min_ls_arrival: float = MIN_LS_ARRIVAL


# field -> (low, high) for the integer settings; the ranges are the packet fields' (A.3.2).
_INTEGER_RANGES = {
    "cost": (1, 0xFFFF),
    "hello_interval": (1, 0xFFFF),
    "dead_interval": (1, 0xFFFFFFFF),
    "priority": (0, 0xFF),
    "retransmit_interval": (1, 0xFFFF),
    "transmit_delay": (1, 0xFFFF),
    "hello_multiplier": (2, 20),
    "mtu": (576, 65535),
}


def parse_ospf_config(raw: Mapping[str, Any], where: str = "ospf") -> OspfConfig:
    """The ``[ospf]`` table of a router's TOML (as loaded by tomllib) as an ``OspfConfig``."""
    _reject_unknown(raw, {"router_id", "interfaces", *_SECONDS}, where)
    router_id = _address(raw["router_id"], f"{where}.router_id") if "router_id" in raw else None
    seconds = {name: _seconds(raw, name, where) for name in _SECONDS}
    interfaces_raw = raw.get("interfaces", {})
    if not isinstance(interfaces_raw, Mapping):
        raise OspfConfigError(f"{where}.interfaces", "must be a table of interface names")
    interfaces = {
        str(name): _interface(settings, f"{where}.interfaces.{name}")
        for name, settings in interfaces_raw.items()
    }
    return OspfConfig(router_id, interfaces=interfaces, **seconds)


# the router-wide timers: [ospf] field -> its default
_SECONDS = {
    name: OspfConfig.__dataclass_fields__[name].default
    for name in ("spf_delay", "min_ls_interval", "min_ls_arrival")
}


def _seconds(raw: Mapping[str, Any], name: str, where: str) -> float:
    value = raw.get(name, _SECONDS[name])
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 60:
        raise OspfConfigError(f"{where}.{name}", "must be a number of seconds from 0 to 60")
    return float(value)


def _interface(raw: Any, where: str) -> OspfInterfaceConfig:
    if not isinstance(raw, Mapping):
        raise OspfConfigError(where, "must be a table")
    known = {f.name for f in fields(OspfInterfaceConfig)} | {"password"}
    _reject_unknown(raw, known, where)
    values: dict[str, Any] = {}
    for name, (low, high) in _INTEGER_RANGES.items():
        if name in raw:
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise OspfConfigError(f"{where}.{name}", f"must be an integer from {low} to {high}")
            values[name] = value
    for name in ("passive", "mtu_ignore"):
        if name in raw:
            if not isinstance(raw[name], bool):
                raise OspfConfigError(f"{where}.{name}", "must be true or false")
            values[name] = raw[name]
    if "network" in raw:
        try:
            values["network"] = NetworkType(raw["network"])
        except ValueError:
            choices = " or ".join(repr(t.value) for t in NetworkType)
            raise OspfConfigError(f"{where}.network", f"must be {choices}") from None
    values["authentication"] = _authentication(raw, where)
    config = OspfInterfaceConfig(**values)
    if config.hello_multiplier is not None:
        if config.dead_interval != 1:
            raise OspfConfigError(f"{where}.dead_interval", "must be 1 with hello_multiplier")
        if "hello_interval" in raw:
            raise OspfConfigError(f"{where}.hello_interval", "is set by hello_multiplier (1/multiplier s)")
    elif config.dead_interval <= config.hello_interval:
        raise OspfConfigError(f"{where}.dead_interval", "must be longer than hello_interval")
    return config


def _authentication(raw: Mapping[str, Any], where: str) -> Authentication:
    kind = raw.get("authentication", "none")
    if kind == "none":
        if "password" in raw:
            raise OspfConfigError(f"{where}.password", 'needs authentication = "simple"')
        return Authentication()
    if kind != "simple":
        raise OspfConfigError(f"{where}.authentication", 'must be "none" or "simple"')
    password = raw.get("password")
    if not isinstance(password, str) or not 1 <= len(password.encode()) <= 8:
        raise OspfConfigError(f"{where}.password", "must be a string of 1 to 8 bytes")
    return Authentication(AuthType.SIMPLE, password.encode())


def _address(value: Any, where: str) -> IPv4Address:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return IPv4Address(value)
    except (AddressValueError, ValueError):
        raise OspfConfigError(where, f"{value!r} is not a dotted-quad IPv4 address") from None


def _reject_unknown(raw: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in raw:
        if key not in known:
            raise OspfConfigError(
                f"{where}.{key}", f"unknown setting (expected one of {', '.join(sorted(known))})"
            )
