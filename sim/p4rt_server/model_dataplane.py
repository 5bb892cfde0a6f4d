"""The reference model as a P4Runtime data plane.

Entries written through P4Runtime become a :class:`TableState`; frames go
through :class:`ReferencePipeline`. It is the contract itself behind the
server, so the server and the controller can be tested against the oracle,
and the same tests can then be pointed at the HDL pipeline.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address, IPv4Network

from sim.model.codes import CPU_PORT, DEFAULT_NUM_PORTS
from sim.model.outcome import Counters, CounterValue, Forward, Punt
from sim.model.pipeline import ReferencePipeline
from sim.model.tables import Direct, MacAddress, NextHop, NullRoute, RouteAction, TableState

from .entities import ActionCall, TableEntry
from .errors import invalid
from .surface import PipelineSurface, router_surface


class ModelDataPlane:
    """Front-panel frames go in with :meth:`receive` and out on :attr:`egress` queues."""

    def __init__(self, num_ports: int = DEFAULT_NUM_PORTS, surface: PipelineSurface | None = None):
        self.surface = surface or router_surface()
        self.num_ports = num_ports
        self.counters = Counters()
        self.egress: dict[int, asyncio.Queue[bytes]] = {p: asyncio.Queue() for p in range(1, num_ports + 1)}
        self._to_cpu: asyncio.Queue[bytes] = asyncio.Queue()
        self._entries: dict[str, dict[tuple, TableEntry]] = {t.name: {} for t in self.surface.tables}

    # --- DataPlane protocol ---------------------------------------------------------

    async def clear(self) -> None:
        for table in self._entries.values():
            table.clear()
        self.counters = Counters()

    async def insert(self, entry: TableEntry) -> None:
        self._check(entry)
        self._entries[entry.table][entry.key] = entry

    async def modify(self, entry: TableEntry) -> None:
        self._check(entry)
        self._entries[entry.table][entry.key] = entry

    async def delete(self, entry: TableEntry) -> None:
        del self._entries[entry.table][entry.key]

    async def set_default(self, table: str, action: ActionCall) -> None:
        spec = self.surface.table(table)
        if action.name != spec.default_action:
            # The pipeline's misses are fixed by the contract (NO_ROUTE, ARP_MISS).
            raise invalid(f"{table}: this target keeps the default action {spec.default_action}")

    async def read_counters(self, counter: str) -> dict[int, tuple[int, int]]:
        return {index: (cell.packets, cell.bytes) for index, cell in self._counter_cells(counter).items()}

    async def inject_cpu_frame(self, frame: bytes) -> None:
        self._process(frame, CPU_PORT)

    async def next_cpu_frame(self) -> bytes:
        return await self._to_cpu.get()

    # --- front panel -----------------------------------------------------------------

    def receive(self, port: int, frame: bytes) -> None:
        """A frame arrives on front-panel ``port``."""
        self._process(frame, port)

    def table_state(self) -> TableState:
        e = self._entries
        mac = {k[0].value: MacAddress(v.action.param("mac")) for k, v in e["egress.port_mac"].items()}
        router = {k[0].value: MacAddress(v.action.param("mac")) for k, v in e["ingress.router_mac"].items()}
        return TableState(
            num_ports=self.num_ports,
            port_macs=mac,
            router_macs=router,
            local_ips={IPv4Address(k[0].value) for k in e["ingress.local_ip"]},
            routes={_prefix(k[0]): _route(v.action) for k, v in e["ingress.ipv4_lpm"].items()},
            neighbours={
                IPv4Address(k[0].value): MacAddress(v.action.param("mac"))
                for k, v in e["ingress.arp"].items()
            },
        )

    def _process(self, frame: bytes, port: int) -> None:
        pipeline = ReferencePipeline(self.table_state(), self.counters)
        outcome = pipeline.process(frame, port)
        if isinstance(outcome, Forward):
            self.egress[outcome.port].put_nowait(outcome.frame)
        elif isinstance(outcome, Punt):
            self._to_cpu.put_nowait(outcome.packet_in_bytes())

    def _check(self, entry: TableEntry) -> None:
        """Refuse what TableState cannot hold: ports outside 1..num_ports."""
        for name, value in entry.action.params:
            if name == "port" and not 1 <= value <= self.num_ports:
                raise invalid(f"{entry.table}: port {value} is not a front-panel port 1..{self.num_ports}")
        if entry.table in ("ingress.router_mac", "egress.port_mac"):
            port = entry.key[0].value
            if not 1 <= port <= self.num_ports:
                raise invalid(f"{entry.table}: port {port} is not a front-panel port 1..{self.num_ports}")

    def _counter_cells(self, counter: str) -> dict[int, CounterValue]:
        c = self.counters
        cells = {
            "ingress.rx_port": c.rx_port,
            "egress.tx_port": c.tx_port,
            "ingress.drops": {int(r): v for r, v in c.drops.items()},
            "ingress.punts": {int(r): v for r, v in c.punts.items()},
        }
        return cells[counter]


def _prefix(match) -> IPv4Network:
    if match is None:
        return IPv4Network("0.0.0.0/0")
    return IPv4Network((match.value, match.prefix_len))


def _route(action: ActionCall) -> RouteAction:
    if action.name == "ingress.set_nexthop":
        return NextHop(IPv4Address(action.param("nhop_ip")), action.param("port"))
    if action.name == "ingress.set_direct":
        return Direct(action.param("port"))
    return NullRoute()
