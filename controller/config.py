"""A router's TOML configuration, validated into dataclasses.

Every mistake becomes a :class:`ConfigError` naming the file, the line and
the field, so the controller can refuse to start before it touches the
switch. The ``[ospf]`` section is passed through as a plain dict: the OSPF
speaker validates its own schema.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

from sim.model.codes import CPU_PORT, DEFAULT_NUM_PORTS
from sim.model.tables import MacAddress


class ConfigError(Exception):
    """A configuration file is unreadable or says something impossible."""

    def __init__(self, path: Path | str, line: int | None, field: str, message: str):
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


@dataclass(frozen=True)
class InterfaceConfig:
    """One front-panel port with its Ethernet and IPv4 identity."""

    name: str
    port: int
    mac: MacAddress
    address: IPv4Interface  # the router's address with the subnet's prefix length

    @property
    def ip(self) -> IPv4Address:
        return self.address.ip

    @property
    def network(self) -> IPv4Network:
        return self.address.network


@dataclass(frozen=True)
class StaticRouteConfig:
    """A configured route: exactly one of ``next_hop``, ``interface`` or ``null``."""

    prefix: IPv4Network
    next_hop: IPv4Address | None = None
    interface: str | None = None  # on-link: the destination itself is the next hop
    null: bool = False
    distance: int = 1


@dataclass(frozen=True)
class ArpConfig:
    """ARP timers and queue bounds (seconds, counts)."""

    reachable_time: float = 300.0  # an entry lives this long after its last confirmation
    refresh_margin: float = 30.0  # a refresh request goes out this long before expiry
    retry_interval: float = 1.0  # first retransmission delay of a request
    retry_backoff: float = 2.0  # each further delay is multiplied by this
    max_retries: int = 3  # requests after the first before giving up
    queue_length: int = 16  # packets held per unresolved next hop
    max_pending: int = 256  # unresolved next hops held at once


@dataclass(frozen=True)
class IcmpConfig:
    """Token-bucket limits on generated ICMP (RFC 1812 §4.3.2.8): rate per second, burst."""

    error_rate: float = 100.0
    error_burst: int = 50
    echo_rate: float = 1000.0
    echo_burst: int = 100


@dataclass(frozen=True)
class RouterConfig:
    path: Path
    router_id: IPv4Address
    num_ports: int
    interfaces: tuple[InterfaceConfig, ...]
    static_routes: tuple[StaticRouteConfig, ...] = ()
    arp: ArpConfig = field(default_factory=ArpConfig)
    icmp: IcmpConfig = field(default_factory=IcmpConfig)
    ospf: dict[str, Any] = field(default_factory=dict)

    def interface_by_name(self, name: str) -> InterfaceConfig | None:
        return next((i for i in self.interfaces if i.name == name), None)

    def interface_by_port(self, port: int) -> InterfaceConfig | None:
        return next((i for i in self.interfaces if i.port == port), None)


# --- loading -----------------------------------------------------------------


def load_config(path: Path | str) -> RouterConfig:
    """Read and validate ``path``; raise :class:`ConfigError` on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, None, "", f"cannot read: {error}") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path | str = "<config>") -> RouterConfig:
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None) or _line_from_message(str(error))
        raise ConfigError(path, line, "", f"TOML syntax: {error}") from None
    return _Validator(path, text).router(data)


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


_TOP_KEYS = {"router_id", "num_ports", "interface", "static_route", "arp", "icmp", "ospf"}
_INTERFACE_KEYS = {"name", "port", "mac", "address"}
_STATIC_KEYS = {"prefix", "next_hop", "interface", "null", "distance"}


class _Validator:
    """Turns parsed TOML into config records, locating each error's line in ``text``."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = _KeyLines(text)

    def fail(self, field: str, message: str) -> ConfigError:
        return ConfigError(self.path, self.lines.find(field), field, message)

    def router(self, data: dict[str, Any]) -> RouterConfig:
        self._no_unknown_keys(data, _TOP_KEYS, "")
        router_id = self._ipv4(data, "router_id", "router_id", required=True)
        num_ports = self._int(data, "num_ports", "num_ports", DEFAULT_NUM_PORTS, 1, CPU_PORT - 1)
        raw_interfaces = self._array_of_tables(data, "interface")
        if not raw_interfaces:
            raise self.fail("interface", "at least one [[interface]] is required")
        interfaces = tuple(
            self._interface(raw, f"interface[{i}]", num_ports) for i, raw in enumerate(raw_interfaces)
        )
        self._check_interfaces_distinct(interfaces)
        statics = tuple(
            self._static(raw, f"static_route[{i}]", interfaces)
            for i, raw in enumerate(self._array_of_tables(data, "static_route"))
        )
        ospf = data.get("ospf", {})
        if not isinstance(ospf, dict):
            raise self.fail("ospf", "must be a table ([ospf])")
        return RouterConfig(
            path=self.path,
            router_id=router_id,
            num_ports=num_ports,
            interfaces=interfaces,
            static_routes=statics,
            arp=self._arp(self._table(data, "arp")),
            icmp=self._icmp(self._table(data, "icmp")),
            ospf=ospf,
        )

    # --- sections --------------------------------------------------------------

    def _interface(self, raw: dict[str, Any], where: str, num_ports: int) -> InterfaceConfig:
        self._no_unknown_keys(raw, _INTERFACE_KEYS, where)
        name = self._str(raw, "name", f"{where}.name")
        port = self._int(raw, "port", f"{where}.port", None, 1, num_ports)
        mac_text = self._str(raw, "mac", f"{where}.mac")
        try:
            mac = MacAddress.parse(mac_text)
        except ValueError as error:
            raise self.fail(f"{where}.mac", str(error)) from None
        if mac.packed[0] & 1:
            raise self.fail(f"{where}.mac", f"{mac} is a group address; a port needs a unicast MAC")
        if mac.value == 0:
            raise self.fail(f"{where}.mac", "00:00:00:00:00:00 is not a usable MAC")
        address_text = self._str(raw, "address", f"{where}.address")
        try:
            address = IPv4Interface(address_text)
        except ValueError as error:
            raise self.fail(f"{where}.address", f"want a.b.c.d/len: {error}") from None
        if "/" not in address_text:
            raise self.fail(f"{where}.address", f"{address_text!r} needs a prefix length (a.b.c.d/len)")
        self._check_host_address(address, f"{where}.address")
        return InterfaceConfig(name=name, port=port, mac=mac, address=address)

    def _check_host_address(self, address: IPv4Interface, field: str) -> None:
        ip, net = address.ip, address.network
        if ip.is_multicast or ip.is_loopback or ip.is_unspecified or ip == IPv4Address("255.255.255.255"):
            raise self.fail(field, f"{ip} cannot be an interface address")
        if net.prefixlen < 31 and ip in (net.network_address, net.broadcast_address):
            raise self.fail(field, f"{ip} is the network or broadcast address of {net}")

    def _check_interfaces_distinct(self, interfaces: tuple[InterfaceConfig, ...]) -> None:
        for i, a in enumerate(interfaces):
            for j in range(i):
                b = interfaces[j]
                where = f"interface[{i}]"
                if a.name == b.name:
                    raise self.fail(f"{where}.name", f"{a.name!r} is already interface[{j}]'s name")
                if a.port == b.port:
                    raise self.fail(f"{where}.port", f"port {a.port} is already interface[{j}] ({b.name})")
                if a.network.overlaps(b.network):
                    raise self.fail(
                        f"{where}.address", f"{a.network} overlaps interface[{j}] ({b.name}, {b.network})"
                    )

    def _static(
        self, raw: dict[str, Any], where: str, interfaces: tuple[InterfaceConfig, ...]
    ) -> StaticRouteConfig:
        self._no_unknown_keys(raw, _STATIC_KEYS, where)
        prefix_text = self._str(raw, "prefix", f"{where}.prefix")
        try:
            prefix = IPv4Network(prefix_text)
        except ValueError as error:
            raise self.fail(f"{where}.prefix", f"want a.b.c.d/len with no host bits set: {error}") from None
        next_hop = self._ipv4(raw, "next_hop", f"{where}.next_hop", required=False)
        interface = raw.get("interface")
        if interface is not None:
            interface = self._str(raw, "interface", f"{where}.interface")
            if not any(i.name == interface for i in interfaces):
                raise self.fail(f"{where}.interface", f"no interface named {interface!r}")
        null = raw.get("null", False)
        if not isinstance(null, bool):
            raise self.fail(f"{where}.null", "must be true or false")
        chosen = [
            name for name, on in (("next_hop", next_hop), ("interface", interface), ("null", null)) if on
        ]
        if len(chosen) != 1:
            raise self.fail(
                where, f"give exactly one of next_hop, interface or null = true (got {chosen or 'none'})"
            )
        distance = self._int(raw, "distance", f"{where}.distance", 1, 1, 254)
        return StaticRouteConfig(prefix, next_hop, interface, null, distance)

    def _arp(self, raw: dict[str, Any]) -> ArpConfig:
        defaults = ArpConfig()
        self._no_unknown_keys(raw, set(defaults.__dataclass_fields__), "arp")
        config = ArpConfig(
            reachable_time=self._seconds(raw, "reachable_time", "arp", defaults.reachable_time),
            refresh_margin=self._seconds(raw, "refresh_margin", "arp", defaults.refresh_margin),
            retry_interval=self._seconds(raw, "retry_interval", "arp", defaults.retry_interval),
            retry_backoff=self._float(raw, "retry_backoff", "arp", defaults.retry_backoff, minimum=1.0),
            max_retries=self._int(raw, "max_retries", "arp.max_retries", defaults.max_retries, 0, 100),
            queue_length=self._int(raw, "queue_length", "arp.queue_length", defaults.queue_length, 0, 4096),
            max_pending=self._int(raw, "max_pending", "arp.max_pending", defaults.max_pending, 1, 65536),
        )
        if config.refresh_margin >= config.reachable_time:
            raise self.fail("arp.refresh_margin", "must be shorter than arp.reachable_time")
        return config

    def _icmp(self, raw: dict[str, Any]) -> IcmpConfig:
        defaults = IcmpConfig()
        self._no_unknown_keys(raw, set(defaults.__dataclass_fields__), "icmp")
        return IcmpConfig(
            error_rate=self._float(raw, "error_rate", "icmp", defaults.error_rate, minimum=0.0),
            error_burst=self._int(raw, "error_burst", "icmp.error_burst", defaults.error_burst, 0, 1 << 20),
            echo_rate=self._float(raw, "echo_rate", "icmp", defaults.echo_rate, minimum=0.0),
            echo_burst=self._int(raw, "echo_burst", "icmp.echo_burst", defaults.echo_burst, 0, 1 << 20),
        )

    # --- typed fields ----------------------------------------------------------

    def _no_unknown_keys(self, raw: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in raw:
            if key not in allowed:
                field = f"{where}.{key}" if where else key
                raise self.fail(field, f"unknown key (expected one of: {', '.join(sorted(allowed))})")

    def _table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table ([{key}])")
        return value

    def _array_of_tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be an array of tables ([[{key}]])")
        return value

    def _str(self, raw: dict[str, Any], key: str, field: str) -> str:
        if key not in raw:
            raise self.fail(field, "missing")
        value = raw[key]
        if not isinstance(value, str) or not value:
            raise self.fail(field, f"must be a non-empty string, got {value!r}")
        return value

    def _int(
        self, raw: dict[str, Any], key: str, field: str, default: int | None, low: int, high: int
    ) -> int:
        if key not in raw:
            if default is None:
                raise self.fail(field, "missing")
            return default
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"must be an integer, got {value!r}")
        if not low <= value <= high:
            raise self.fail(field, f"must be in {low}..{high}, got {value}")
        return value

    def _float(self, raw: dict[str, Any], key: str, where: str, default: float, minimum: float) -> float:
        field = f"{where}.{key}"
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(field, f"must be a number, got {value!r}")
        if value < minimum:
            raise self.fail(field, f"must be at least {minimum}, got {value}")
        return float(value)

    def _seconds(self, raw: dict[str, Any], key: str, where: str, default: float) -> float:
        value = self._float(raw, key, where, default, minimum=0.0)
        if value <= 0:
            raise self.fail(f"{where}.{key}", "must be a positive number of seconds")
        return value

    def _ipv4(self, raw: dict[str, Any], key: str, field: str, *, required: bool) -> Any:
        if key not in raw:
            if required:
                raise self.fail(field, "missing")
            return None
        value = raw[key]
        problem = ConfigError(
            self.path, self.lines.find(field), field, f"must be a dotted-quad IPv4 address, got {value!r}"
        )
        if not isinstance(value, str):
            raise problem
        try:
            return IPv4Address(value)
        except ValueError:
            raise problem from None


class _KeyLines:
    """Finds the line where a dotted field such as ``interface[1].mac`` is written.

    tomllib reports lines only for syntax errors, so semantic errors locate
    their key by scanning the text: table headers (``[x]``, ``[[x]]``, with a
    count per array) and ``key =`` lines. Inline tables fall back to the
    nearest enclosing line found.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"']+)\s*=")

    def __init__(self, text: str):
        self.index: dict[str, int] = {}
        counts: dict[str, int] = {}
        table = ""
        for number, line in enumerate(text.splitlines(), start=1):
            if header := self._HEADER.match(line):
                name = header.group(2).replace('"', "").replace("'", "")
                if header.group(1) == "[[":
                    position = counts.get(name, 0)
                    counts[name] = position + 1
                    table = f"{name}[{position}]"
                else:
                    table = name
                self.index.setdefault(table, number)
                self.index.setdefault(name, number)
            elif key := self._KEY.match(line):
                name = key.group(1).strip("\"'")
                self.index.setdefault(f"{table}.{name}" if table else name, number)

    def find(self, field: str) -> int | None:
        """The line of ``field``, else of its nearest enclosing table, else None."""
        while field:
            if field in self.index:
                return self.index[field]
            field = field.rpartition(".")[0]
        return None
