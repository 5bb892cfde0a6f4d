"""The host side of the router core: table state in, management-bus operations out.

:class:`CoreDriver` speaks to any :class:`MgmtBus` (two coroutines, ``read``
and ``write``): the Amaranth simulator and cocotb adapters in
:mod:`hdl.simbus`, or the in-band management channel. It keeps a copy of
what the core holds, so :meth:`CoreDriver.install` writes only the
difference between that and the wanted :class:`~sim.model.TableState`, and
reads the counters back into a :class:`~sim.model.Counters`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Protocol

from sim.model import Counters, CounterValue, DropReason, MacAddress, PuntReason, RouteAction, TableState
from sim.model.codes import CPU_PORT

from .core import MAGIC, Block, InfoReg
from .counters import CounterArray, counter_address
from .exact import ExactCommand, ExactReg, ExactStatus
from .parser import OVERSIZE_DROP
from .port_macs import MacCommand, MacReg, MacStatus

log = logging.getLogger(__name__)


class MgmtBus(Protocol):
    """A management-bus initiator: 32-bit word reads and writes at word addresses.

    A bus that can read consecutive words in one transaction (the management
    channel: one request frame) may also have ``async read_words(address,
    count) -> list[int]``; the driver uses it for counters.
    """

    async def read(self, address: int) -> int: ...

    async def write(self, address: int, data: int) -> None: ...


class LpmCompilerLike(Protocol):
    """The LPM engine's host side: route changes in, ``(address, data)`` writes out."""

    def insert(self, prefix: IPv4Network, action: RouteAction) -> list[tuple[int, int]]: ...

    def delete(self, prefix: IPv4Network) -> list[tuple[int, int]]: ...


class TableFullError(Exception):
    """The core refused an entry: the table is full (P4Runtime RESOURCE_EXHAUSTED)."""


class CoreError(Exception):
    """The core answered something a correct core never does."""


@dataclass(frozen=True)
class CoreInfo:
    num_ports: int
    width: int
    block_bits: int
    max_frame: int
    local_ip_capacity: int
    arp_capacity: int
    queue_depth: int
    active_ports: int


@dataclass
class CoreCounters:
    """The counters as the model defines them, plus the core's own oversize drops."""

    counters: Counters
    oversize: CounterValue = field(default_factory=CounterValue)


class CoreDriver:
    """Programs one router core. Call :meth:`connect` first."""

    def __init__(self, bus: MgmtBus, lpm: LpmCompilerLike):
        self.bus = bus
        self.lpm = lpm
        self.info: CoreInfo | None = None
        self.state = TableState()  # what the core holds now
        self.state.router_macs = {}

    # --- addressing -----------------------------------------------------------------

    def _address(self, block: Block, offset: int) -> int:
        bits = self.info.block_bits if self.info else 12
        return block << bits | offset

    async def _read(self, block: Block, offset: int) -> int:
        return await self.bus.read(self._address(block, offset))

    async def _write(self, block: Block, offset: int, data: int) -> None:
        await self.bus.write(self._address(block, offset), data & 0xFFFFFFFF)

    async def connect(self) -> CoreInfo:
        """Read the core's identification and build parameters."""
        if await self.bus.read(Block.INFO << 12 | InfoReg.MAGIC) != MAGIC:
            raise CoreError("no router core answers on this bus (bad magic)")
        # INFO is block 0, so its addresses do not depend on block_bits.
        values = {reg: await self.bus.read(reg) for reg in InfoReg}
        self.info = CoreInfo(
            num_ports=values[InfoReg.NUM_PORTS],
            width=values[InfoReg.WIDTH],
            block_bits=values[InfoReg.BLOCK_BITS],
            max_frame=values[InfoReg.MAX_FRAME],
            local_ip_capacity=values[InfoReg.LOCAL_IP_CAPACITY],
            arp_capacity=values[InfoReg.ARP_CAPACITY],
            queue_depth=values[InfoReg.QUEUE_DEPTH],
            active_ports=values[InfoReg.ACTIVE_PORTS],
        )
        self.state.num_ports = self.info.active_ports
        log.debug("connected: %s", self.info)
        return self.info

    async def set_active_ports(self, count: int) -> None:
        """Use only front ports 1..count (tables for a smaller router on a bigger core)."""
        if not 1 <= count <= self.info.num_ports:
            raise ValueError(f"tables are for {count} ports, the core has {self.info.num_ports}")
        if count < self.state.num_ports:
            for port in range(count + 1, self.state.num_ports + 1):
                await self.set_router_mac(port, None)
                await self.set_port_mac(port, None)
        await self.bus.write(InfoReg.ACTIVE_PORTS, count)
        self.state.num_ports = count

    # --- port MACs ------------------------------------------------------------------

    async def _set_mac(self, block: Block, port: int, mac: MacAddress | None) -> None:
        await self._write(block, MacReg.PORT, port)
        if mac is not None:
            await self._write(block, MacReg.MAC_LO, mac.value)
            await self._write(block, MacReg.MAC_HI, mac.value >> 32)
        await self._write(block, MacReg.COMMAND, MacCommand.SET if mac is not None else MacCommand.CLEAR)
        status = await self._read(block, MacReg.STATUS)
        if status != MacStatus.OK:
            raise CoreError(f"{block.name} port {port}: refused ({MacStatus(status).name})")

    async def set_router_mac(self, port: int, mac: MacAddress | None) -> None:
        await self._set_mac(Block.ROUTER_MAC, port, mac)
        _put(self.state.router_macs, port, mac)

    async def set_port_mac(self, port: int, mac: MacAddress | None) -> None:
        await self._set_mac(Block.PORT_MAC, port, mac)
        _put(self.state.port_macs, port, mac)

    # --- exact-match tables -----------------------------------------------------------

    async def _exact(self, block: Block, command: ExactCommand, key: int, value: int = 0) -> ExactStatus:
        await self._write(block, ExactReg.KEY, key)
        if command == ExactCommand.INSERT:
            await self._write(block, ExactReg.VALUE_LO, value)
            await self._write(block, ExactReg.VALUE_HI, value >> 32)
        await self._write(block, ExactReg.COMMAND, command)
        return ExactStatus(await self._read(block, ExactReg.STATUS))

    async def _insert(self, block: Block, key: int, value: int, what: str) -> None:
        status = await self._exact(block, ExactCommand.INSERT, key, value)
        if status == ExactStatus.FULL:
            raise TableFullError(f"{what}: no room in the {block.name} table")
        if status != ExactStatus.OK:
            raise CoreError(f"{what}: {block.name} insert answered {status.name}")

    async def _delete(self, block: Block, key: int, what: str) -> None:
        status = await self._exact(block, ExactCommand.DELETE, key)
        if status != ExactStatus.OK:
            raise CoreError(f"{what}: {block.name} delete answered {status.name}")

    async def add_local_ip(self, address: IPv4Address) -> None:
        await self._insert(Block.LOCAL_IP, int(address), 0, f"local_ip {address}")
        self.state.local_ips.add(address)

    async def remove_local_ip(self, address: IPv4Address) -> None:
        await self._delete(Block.LOCAL_IP, int(address), f"local_ip {address}")
        self.state.local_ips.discard(address)

    async def add_neighbour(self, address: IPv4Address, mac: MacAddress) -> None:
        await self._insert(Block.ARP, int(address), mac.value, f"arp {address}")
        self.state.neighbours[address] = mac

    async def remove_neighbour(self, address: IPv4Address) -> None:
        await self._delete(Block.ARP, int(address), f"arp {address}")
        del self.state.neighbours[address]

    async def read_neighbour(self, address: IPv4Address) -> MacAddress | None:
        """What the core's neighbour table holds for ``address``."""
        status = await self._exact(Block.ARP, ExactCommand.FIND, int(address))
        if status == ExactStatus.NOT_FOUND:
            return None
        low = await self._read(Block.ARP, ExactReg.FOUND_LO)
        return MacAddress(low | (await self._read(Block.ARP, ExactReg.FOUND_HI) & 0xFFFF) << 32)

    # --- routes -----------------------------------------------------------------------

    async def _lpm_writes(self, writes: Iterable[tuple[int, int]]) -> None:
        for address, data in writes:
            await self._write(Block.LPM, address, data)

    async def add_route(self, prefix: IPv4Network, action: RouteAction) -> None:
        port = getattr(action, "port", None)
        if port is not None and not 1 <= port <= self.state.num_ports:
            raise ValueError(f"route {prefix}: port {port} is not a front port 1..{self.state.num_ports}")
        try:
            writes = self.lpm.insert(prefix, action)
        except Exception as error:
            if type(error).__name__ == "LpmTableFull":
                raise TableFullError(f"route {prefix}: {error}") from error
            raise
        await self._lpm_writes(writes)
        self.state.routes[prefix] = action

    async def remove_route(self, prefix: IPv4Network) -> None:
        await self._lpm_writes(self.lpm.delete(prefix))
        del self.state.routes[prefix]

    # --- whole tables -----------------------------------------------------------------

    async def install(self, wanted: TableState) -> None:
        """Make the core hold ``wanted``, writing only what differs from what it holds."""
        wanted.validate()
        if self.info is None:
            await self.connect()
        await self.set_active_ports(wanted.num_ports)
        have = self.state
        router_macs = wanted.port_macs if wanted.router_macs is None else wanted.router_macs
        for port in range(1, wanted.num_ports + 1):
            if have.router_macs.get(port) != router_macs.get(port):
                await self.set_router_mac(port, router_macs.get(port))
            if have.port_macs.get(port) != wanted.port_macs.get(port):
                await self.set_port_mac(port, wanted.port_macs.get(port))
        for address in have.local_ips - wanted.local_ips:
            await self.remove_local_ip(address)
        for address in sorted(wanted.local_ips - have.local_ips):
            await self.add_local_ip(address)
        for address in [a for a in have.neighbours if a not in wanted.neighbours]:
            await self.remove_neighbour(address)
        for address, mac in sorted(wanted.neighbours.items()):
            if have.neighbours.get(address) != mac:
                await self.add_neighbour(address, mac)
        for prefix in [p for p in have.routes if p not in wanted.routes]:
            await self.remove_route(prefix)
        for prefix, action in wanted.routes.items():
            if have.routes.get(prefix) != action:
                await self.add_route(prefix, action)

    # --- counters ---------------------------------------------------------------------

    async def _read_words(self, block: Block, offset: int, count: int) -> list[int]:
        read_words = getattr(self.bus, "read_words", None)
        if read_words is not None:
            return await read_words(self._address(block, offset), count)
        return [await self._read(block, offset + i) for i in range(count)]

    async def _counters(self, array: CounterArray, first: int, count: int) -> dict[int, CounterValue]:
        """Counters ``first .. first + count - 1`` of ``array``, in one burst where the bus has bursts.

        Each counter is four consecutive words (packets low, high, bytes low,
        high), and reading a low half latches its high half, read next: a
        burst in address order reads every counter consistently.
        """
        words = await self._read_words(
            Block.COUNTERS, counter_address(array, first, bytes_=False, high=False), 4 * count
        )
        return {
            first + i: CounterValue(
                packets=words[4 * i + 1] << 32 | words[4 * i], bytes=words[4 * i + 3] << 32 | words[4 * i + 2]
            )
            for i in range(count)
        }

    async def read_counters(self) -> CoreCounters:
        """Every counter; zero counters are left out, as the model leaves them out."""
        num_ports = self.info.num_ports
        counters = Counters()
        for array, table in (
            (CounterArray.RX_PORT, counters.rx_port),
            (CounterArray.TX_PORT, counters.tx_port),
        ):
            cells = await self._counters(array, 1, num_ports) | await self._counters(array, CPU_PORT, 1)
            for port, value in cells.items():
                _keep(table, port, value)
        drops = await self._counters(CounterArray.DROPS, 0, max(max(DropReason), OVERSIZE_DROP) + 1)
        for reason in DropReason:
            _keep(counters.drops, reason, drops[reason])
        punts = await self._counters(CounterArray.PUNTS, 0, max(PuntReason) + 1)
        for reason in PuntReason:
            _keep(counters.punts, reason, punts[reason])
        return CoreCounters(counters, drops[OVERSIZE_DROP])


def _put(table: dict, key, value) -> None:
    if value is None:
        table.pop(key, None)
    else:
        table[key] = value


def _keep(table: dict, key, value: CounterValue) -> None:
    if value.packets or value.bytes:
        table[key] = value
