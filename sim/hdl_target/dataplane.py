"""The HDL router core as a P4Runtime data plane, reached through the management channel.

P4Runtime entries become :class:`hdl.driver.CoreDriver` operations, which
become management-bus words, which travel as 0x88B5 frames to the board's
(or the simulation's) management channel. The CPU port's packets ride the
same channel as PACKET_OUT / PACKET_IN.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from hdl.driver import CoreDriver, CoreError, TableFullError
from sim.model.tables import Direct, MacAddress, NextHop, NullRoute, RouteAction
from sim.p4rt_server.entities import ActionCall, MatchValue, TableEntry
from sim.p4rt_server.errors import exhausted, invalid
from sim.p4rt_server.surface import PipelineSurface, router_surface

from .mgmt_client import MgmtClient


class ChannelBus:
    """The management bus over the management channel: a word, or a burst of consecutive words, per request."""

    def __init__(self, client: MgmtClient):
        self.client = client

    async def read(self, address: int) -> int:
        (word,) = await self.client.read(address, 1)
        return word

    async def read_words(self, address: int, count: int) -> list[int]:
        return await self.client.read(address, count)

    async def write(self, address: int, data: int) -> None:
        await self.client.write(address, [data])


class HdlDataPlane:
    """A :class:`~sim.p4rt_server.dataplane.DataPlane` backed by the router core."""

    def __init__(self, client: MgmtClient, driver: CoreDriver, surface: PipelineSurface):
        self.client = client
        self.driver = driver
        self.surface = surface

    @classmethod
    async def connect(cls, client: MgmtClient, driver: CoreDriver, lpm_capacity: int) -> HdlDataPlane:
        """Read the core's build parameters; its capacities become the served table sizes."""
        info = await driver.connect()
        surface = router_surface(
            {
                "ingress.router_mac": info.num_ports,
                "egress.port_mac": info.num_ports,
                "ingress.local_ip": info.local_ip_capacity,
                "ingress.arp": info.arp_capacity,
                "ingress.ipv4_lpm": lpm_capacity,
            }
        )
        return cls(client, driver, surface)

    # --- tables ---------------------------------------------------------------------

    async def clear(self) -> None:
        state = self.driver.state
        for port in list(state.router_macs):
            await self.driver.set_router_mac(port, None)
        for port in list(state.port_macs):
            await self.driver.set_port_mac(port, None)
        for address in list(state.local_ips):
            await self.driver.remove_local_ip(address)
        for address in list(state.neighbours):
            await self.driver.remove_neighbour(address)
        for prefix in list(state.routes):
            await self.driver.remove_route(prefix)

    async def insert(self, entry: TableEntry) -> None:
        await self._install(entry)

    async def modify(self, entry: TableEntry) -> None:
        # Every table of the core overwrites in place, so a lookup sees the
        # old action or the new one, never a miss in between.
        await self._install(entry)

    async def delete(self, entry: TableEntry) -> None:
        key = entry.key[0]
        match entry.table:
            case "ingress.router_mac":
                await self.driver.set_router_mac(key.value, None)
            case "egress.port_mac":
                await self.driver.set_port_mac(key.value, None)
            case "ingress.local_ip":
                await self.driver.remove_local_ip(IPv4Address(key.value))
            case "ingress.arp":
                await self.driver.remove_neighbour(IPv4Address(key.value))
            case "ingress.ipv4_lpm":
                await self.driver.remove_route(_prefix(key))

    async def set_default(self, table: str, action: ActionCall) -> None:
        spec = self.surface.table(table)
        if action.name != spec.default_action:
            raise invalid(f"{table}: the hardware's miss behaviour is fixed ({spec.default_action})")

    async def _install(self, entry: TableEntry) -> None:
        key, action = entry.key[0], entry.action
        try:
            match entry.table:
                case "ingress.router_mac":
                    await self.driver.set_router_mac(self._port(key.value), MacAddress(action.param("mac")))
                case "egress.port_mac":
                    await self.driver.set_port_mac(self._port(key.value), MacAddress(action.param("mac")))
                case "ingress.local_ip":
                    await self.driver.add_local_ip(IPv4Address(key.value))
                case "ingress.arp":
                    await self.driver.add_neighbour(IPv4Address(key.value), MacAddress(action.param("mac")))
                case "ingress.ipv4_lpm":
                    await self.driver.add_route(_prefix(key), self._route(action))
        except TableFullError as error:
            raise exhausted(str(error)) from None
        except (ValueError, CoreError) as error:
            raise invalid(str(error)) from None

    def _port(self, port: int) -> int:
        num_ports = self.driver.state.num_ports
        if not 1 <= port <= num_ports:
            raise invalid(f"port {port} is not a front-panel port 1..{num_ports}")
        return port

    def _route(self, action: ActionCall) -> RouteAction:
        if action.name == "ingress.set_nexthop":
            return NextHop(IPv4Address(action.param("nhop_ip")), self._port(action.param("port")))
        if action.name == "ingress.set_direct":
            return Direct(self._port(action.param("port")))
        return NullRoute()

    # --- counters and the CPU port ----------------------------------------------------------

    async def read_counters(self, counter: str) -> dict[int, tuple[int, int]]:
        counters = (await self.driver.read_counters()).counters
        cells = {
            "ingress.rx_port": counters.rx_port,
            "egress.tx_port": counters.tx_port,
            "ingress.drops": counters.drops,
            "ingress.punts": counters.punts,
        }[counter]
        return {int(index): (cell.packets, cell.bytes) for index, cell in cells.items()}

    async def inject_cpu_frame(self, frame: bytes) -> None:
        await self.client.packet_out(frame)

    async def next_cpu_frame(self) -> bytes:
        return await self.client.packet_ins.get()


def _prefix(key: MatchValue | None) -> IPv4Network:
    if key is None:
        return IPv4Network("0.0.0.0/0")
    return IPv4Network((key.value, key.prefix_len))
