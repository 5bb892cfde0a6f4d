"""The router's table state: one typed description that drives every data plane.

The reference model evaluates it, the controller turns it into P4Runtime
writes, and the HDL driver turns it into management-bus writes, so a test
vector's tables mean the same thing to all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from .codes import CPU_PORT, DEFAULT_NUM_PORTS


@dataclass(frozen=True, order=True)
class MacAddress:
    """A 48-bit Ethernet address."""

    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value < 1 << 48:
            raise ValueError(f"MAC address out of range: {self.value:#x}")

    @classmethod
    def parse(cls, text: str) -> MacAddress:
        parts = text.split(":")
        if len(parts) != 6 or not all(len(p) == 2 for p in parts):
            raise ValueError(f"not a MAC address (want aa:bb:cc:dd:ee:ff): {text!r}")
        try:
            return cls(int("".join(parts), 16))
        except ValueError:
            raise ValueError(f"not a MAC address (want aa:bb:cc:dd:ee:ff): {text!r}") from None

    @classmethod
    def from_bytes(cls, raw: bytes) -> MacAddress:
        if len(raw) != 6:
            raise ValueError(f"a MAC address is 6 bytes, got {len(raw)}")
        return cls(int.from_bytes(raw, "big"))

    @property
    def packed(self) -> bytes:
        return self.value.to_bytes(6, "big")

    @property
    def is_broadcast(self) -> bool:
        return self.value == BROADCAST_MAC_VALUE

    @property
    def is_ipv4_multicast(self) -> bool:
        """In 01:00:5e:00:00:00/25, the block RFC 1112 maps IPv4 multicast into."""
        return self.value >> 23 == 0x01005E << 1

    def __str__(self) -> str:
        return ":".join(f"{b:02x}" for b in self.packed)


BROADCAST_MAC_VALUE = (1 << 48) - 1
BROADCAST_MAC = MacAddress(BROADCAST_MAC_VALUE)


@dataclass(frozen=True)
class NextHop:
    """``ipv4_lpm`` action ``set_nexthop``: forward via a gateway on ``port``."""

    ip: IPv4Address
    port: int


@dataclass(frozen=True)
class Direct:
    """``ipv4_lpm`` action ``set_direct``: connected subnet, the destination is the next hop."""

    port: int


@dataclass(frozen=True)
class NullRoute:
    """``ipv4_lpm`` action ``drop``: discard (counted as NULL_ROUTE)."""


RouteAction = NextHop | Direct | NullRoute


def _check_front_port(port: int, num_ports: int, what: str) -> None:
    if not 1 <= port <= num_ports:
        raise ValueError(f"{what}: port {port} is not a front-panel port 1..{num_ports}")


@dataclass
class TableState:
    """Everything the pipeline looks up, as plain data.

    ``port_macs`` is each port's MAC: the source MAC on egress (P4 table
    ``egress.port_mac``) and, unless ``router_macs`` says otherwise, the
    address the ingress check accepts (``ingress.router_mac``). The two are
    separate P4 tables; a controller normally writes the same MAC to both.
    A port without a router MAC accepts no unicast frames.
    """

    num_ports: int = DEFAULT_NUM_PORTS
    port_macs: dict[int, MacAddress] = field(default_factory=dict)
    router_macs: dict[int, MacAddress] | None = None
    local_ips: set[IPv4Address] = field(default_factory=set)
    routes: dict[IPv4Network, RouteAction] = field(default_factory=dict)
    neighbours: dict[IPv4Address, MacAddress] = field(default_factory=dict)

    def router_mac(self, port: int) -> MacAddress | None:
        """The MAC a unicast frame arriving on ``port`` must be addressed to."""
        macs = self.port_macs if self.router_macs is None else self.router_macs
        return macs.get(port)

    def validate(self) -> None:
        """Raise ValueError naming the first entry no data plane could hold."""
        if not 1 <= self.num_ports < CPU_PORT:
            raise ValueError(f"num_ports must be 1..{CPU_PORT - 1}, got {self.num_ports}")
        for port in self.port_macs:
            _check_front_port(port, self.num_ports, "port_macs")
        for port in self.router_macs or {}:
            _check_front_port(port, self.num_ports, "router_macs")
        for prefix, action in self.routes.items():
            if isinstance(action, (NextHop, Direct)):
                _check_front_port(action.port, self.num_ports, f"route {prefix}")

    # --- JSON form, used by the vector corpus -------------------------------

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "num_ports": self.num_ports,
            "port_macs": {str(p): str(m) for p, m in sorted(self.port_macs.items())},
            "local_ips": sorted(str(ip) for ip in sorted(self.local_ips)),
            "routes": [_route_to_json(p, a) for p, a in sorted(self.routes.items(), key=_route_key)],
            "neighbours": {str(ip): str(m) for ip, m in sorted(self.neighbours.items())},
        }
        if self.router_macs is not None:
            data["router_macs"] = {str(p): str(m) for p, m in sorted(self.router_macs.items())}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableState:
        state = cls(
            num_ports=int(data.get("num_ports", DEFAULT_NUM_PORTS)),
            port_macs={int(p): MacAddress.parse(m) for p, m in data.get("port_macs", {}).items()},
            router_macs=(
                {int(p): MacAddress.parse(m) for p, m in data["router_macs"].items()}
                if "router_macs" in data
                else None
            ),
            local_ips={IPv4Address(ip) for ip in data.get("local_ips", [])},
            routes=dict(_route_from_json(r) for r in data.get("routes", [])),
            neighbours={IPv4Address(ip): MacAddress.parse(m) for ip, m in data.get("neighbours", {}).items()},
        )
        state.validate()
        return state


def _route_key(item: tuple[IPv4Network, RouteAction]) -> tuple[int, int]:
    prefix = item[0]
    return (int(prefix.network_address), prefix.prefixlen)


def _route_to_json(prefix: IPv4Network, action: RouteAction) -> dict[str, Any]:
    if isinstance(action, NextHop):
        return {"prefix": str(prefix), "action": "set_nexthop", "nhop": str(action.ip), "port": action.port}
    if isinstance(action, Direct):
        return {"prefix": str(prefix), "action": "set_direct", "port": action.port}
    return {"prefix": str(prefix), "action": "drop"}


def _route_from_json(data: dict[str, Any]) -> tuple[IPv4Network, RouteAction]:
    prefix = IPv4Network(data["prefix"])  # strict: host bits must be zero
    kind = data["action"]
    if kind == "set_nexthop":
        return prefix, NextHop(IPv4Address(data["nhop"]), int(data["port"]))
    if kind == "set_direct":
        return prefix, Direct(int(data["port"]))
    if kind == "drop":
        return prefix, NullRoute()
    raise ValueError(f"route {prefix}: unknown action {kind!r}")
