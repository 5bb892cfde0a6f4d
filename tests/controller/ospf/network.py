"""An in-memory network of OSPF instances on a fake clock: links are lists of attached interfaces.

Packets go through the real encoders, the IP datagram builder and parser,
and arrive one millisecond after they are sent, so whole networks of our
instances converge in a few milliseconds of wall time per simulated minute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from controller.clock import FakeClock
from controller.ospf import OspfConfig, OspfInstance, OspfInterfaceAddress, OspfInterfaceConfig, OspfRoute
from controller.ospf.config import NetworkType
from controller.ospf.io import ospf_datagram
from controller.ospf.neighbor import NeighborState
from controller.packets import Ipv4

LINK_DELAY = 0.001


@dataclass
class Attachment:
    router: Router
    interface: str
    address: IPv4Interface


@dataclass
class Link:
    name: str
    attachments: list[Attachment] = field(default_factory=list)
    up: bool = True


class Router:
    """One router: its interfaces, its OSPF instance (once started) and the RIB it feeds."""

    def __init__(self, network: Network, name: str, router_id: str) -> None:
        self.network = network
        self.name = name
        self.router_id = IPv4Address(router_id)
        self.addresses: list[OspfInterfaceAddress] = []
        self.settings: dict[str, OspfInterfaceConfig] = {}
        self.rib: dict[IPv4Network, OspfRoute] = {}
        self.rib_updates = 0
        self.ospf: OspfInstance | None = None
        self.sent: list[tuple[str, IPv4Address, bytes]] = []  # (interface, destination, payload)

    @property
    def instance(self) -> OspfInstance:
        assert self.ospf is not None, "start the network first"
        return self.ospf

    def add_interface(self, name: str, address: str, settings: OspfInterfaceConfig) -> None:
        self.addresses.append(OspfInterfaceAddress(name, IPv4Interface(address)))
        self.settings[name] = settings

    def start(self, spf_delay: float = 0.05) -> None:
        config = OspfConfig(None, spf_delay, dict(self.settings))
        self.ospf = OspfInstance(self.router_id, config, self.addresses, self.network.clock, self, self)
        self.ospf.start()

    # PacketSender
    def send(self, interface: str, source: IPv4Address, destination: IPv4Address, payload: bytes) -> None:
        self.sent.append((interface, destination, payload))
        self.network.transmit(self, interface, ospf_datagram(source, destination, payload))

    # RouteSink
    def update_routes(self, installed: Sequence[OspfRoute], withdrawn: Sequence[IPv4Network]) -> None:
        self.rib_updates += 1
        for prefix in withdrawn:
            del self.rib[prefix]
        for route in installed:
            self.rib[route.prefix] = route

    def neighbor_states(self) -> dict[IPv4Address, NeighborState]:
        return {n.router_id: n.state for i in self.instance.interfaces.values() for n in i.neighbors.values()}

    def next_hops(self, prefix: str) -> set[tuple[str | None, str]]:
        route = self.rib.get(IPv4Network(prefix))
        if route is None:
            return set()
        return {(str(h.address) if h.address else None, h.interface) for h in route.next_hops}


class Network:
    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.routers: dict[str, Router] = {}
        self.links: dict[str, Link] = {}
        #: called with (link, sender, datagram) for every frame; return False to lose it
        self.filter: Callable[[Link, Router, bytes], bool] | None = None

    def router(self, name: str, router_id: str) -> Router:
        self.routers[name] = Router(self, name, router_id)
        return self.routers[name]

    def connect(
        self, link_name: str, router: Router, interface: str, address: str, **settings: object
    ) -> None:
        settings.setdefault("network", NetworkType.BROADCAST)
        router.add_interface(interface, address, OspfInterfaceConfig(**settings))  # type: ignore[arg-type]
        link = self.links.setdefault(link_name, Link(link_name))
        link.attachments.append(Attachment(router, interface, IPv4Interface(address)))

    def start(self, spf_delay: float = 0.05) -> None:
        for router in self.routers.values():
            router.start(spf_delay)

    def transmit(self, sender: Router, interface: str, datagram: bytes) -> None:
        link = next(
            (
                link
                for link in self.links.values()
                for a in link.attachments
                if a.router is sender and a.interface == interface
            ),
            None,
        )
        if link is None or not link.up:
            return
        if self.filter is not None and not self.filter(link, sender, datagram):
            return
        destination = IPv4Address(datagram[16:20])
        for attachment in link.attachments:
            if attachment.router is sender:
                continue
            if destination.is_multicast or destination == attachment.address.ip:
                self.clock.call_later(LINK_DELAY, _deliver(attachment, datagram))

    def cut(self, link_name: str, carrier_loss: bool = True) -> None:
        """Takes a link down; with ``carrier_loss`` its routers see their interfaces go down too."""
        link = self.links[link_name]
        link.up = False
        if carrier_loss:
            for attachment in link.attachments:
                attachment.router.instance.interface_down(attachment.interface)

    def restore(self, link_name: str) -> None:
        link = self.links[link_name]
        link.up = True
        for attachment in link.attachments:
            attachment.router.instance.interface_up(attachment.interface)

    def all_full(self) -> bool:
        """Every router is Full with every router it should be adjacent to (and has some neighbour)."""
        for router in self.routers.values():
            for interface in router.instance.interfaces.values():
                if not interface.active:
                    continue
                for neighbor in interface.neighbors.values():
                    if interface.should_be_adjacent(neighbor) and neighbor.state != NeighborState.FULL:
                        return False
        return True

    def run_until(self, condition: Callable[[], bool], timeout: float, step: float = 0.1) -> float:
        """Advances the clock until ``condition()`` holds; returns the simulated seconds it took."""
        start = self.clock.now()
        while not condition():
            if self.clock.now() - start > timeout:
                raise AssertionError(f"not reached within {timeout} simulated seconds")
            self.clock.advance(step)
        return self.clock.now() - start


def _deliver(attachment: Attachment, datagram: bytes) -> Callable[[], None]:
    def deliver() -> None:
        ip = Ipv4.parse(datagram)
        attachment.router.instance.receive(attachment.interface, ip.src, ip.dst, ip.payload)

    return deliver
