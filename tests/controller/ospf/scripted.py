"""One OSPF instance under test, and a scripted neighbour that speaks to it packet by packet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from controller.clock import FakeClock
from controller.ospf import OspfConfig, OspfInstance, OspfInterfaceAddress, OspfInterfaceConfig, OspfRoute
from controller.ospf.config import NetworkType
from controller.ospf.constants import (
    ALL_SPF_ROUTERS,
    DD_FLAG_I,
    DD_FLAG_M,
    DD_FLAG_MS,
    LsaType,
    RouterLinkType,
)
from controller.ospf.lsa import Lsa, LsaHeader, RouterLink, RouterLsaBody
from controller.ospf.neighbor import Neighbor
from controller.ospf.packets import (
    Body,
    DatabaseDescription,
    Hello,
    LinkStateAck,
    LinkStateUpdate,
    Packet,
    decode,
)

A = IPv4Address


@dataclass(frozen=True)
class Sent:
    interface: str
    destination: IPv4Address
    packet: Packet

    @property
    def body(self) -> Body:
        return self.packet.body


class Harness:
    """Our instance, router id 1.1.1.1, with interfaces e1 (10.0.1.1/24) and e2 (10.0.2.1/24)."""

    def __init__(
        self,
        network: NetworkType = NetworkType.POINT_TO_POINT,
        timers: dict[str, float] | None = None,
        **settings: object,
    ) -> None:
        """``timers``: router-wide OspfConfig fields (min_ls_interval, ...); ``settings``: both
        interfaces' OspfInterfaceConfig fields."""
        self.clock = FakeClock()
        self.sent: list[Sent] = []
        self.rib: dict[IPv4Network, OspfRoute] = {}
        interface = OspfInterfaceConfig(network=network, **settings)  # type: ignore[arg-type]
        config = OspfConfig(None, 0.05, {"e1": interface, "e2": interface}, **(timers or {}))
        addresses = [
            OspfInterfaceAddress("e1", IPv4Interface("10.0.1.1/24")),
            OspfInterfaceAddress("e2", IPv4Interface("10.0.2.1/24")),
        ]
        self.ospf = OspfInstance(A("1.1.1.1"), config, addresses, self.clock, self, self)
        self.ospf.start()
        self.clock.advance(0.01)

    # PacketSender and RouteSink
    def send(self, interface: str, source: IPv4Address, destination: IPv4Address, payload: bytes) -> None:
        self.sent.append(
            Sent(
                interface, destination, decode(payload, self.ospf.interfaces[interface].config.authentication)
            )
        )

    def update_routes(self, installed: Sequence[OspfRoute], withdrawn: Sequence[IPv4Network]) -> None:
        for prefix in withdrawn:
            del self.rib[prefix]
        for route in installed:
            self.rib[route.prefix] = route

    def take(self, kind: type | None = None, interface: str | None = None) -> list[Sent]:
        """Removes and returns what was sent (of one packet type, out of one interface)."""
        taken = [
            s
            for s in self.sent
            if (kind is None or isinstance(s.body, kind)) and (interface is None or s.interface == interface)
        ]
        self.sent = [s for s in self.sent if s not in taken]
        return taken

    def our_lsa(self) -> Lsa:
        lsa = self.ospf.lsdb.get((LsaType.ROUTER, A("1.1.1.1"), A("1.1.1.1")))  # type: ignore[arg-type]
        assert lsa is not None
        return lsa


class Peer:
    """A neighbour on one of the harness's interfaces; it sends what the test tells it to."""

    def __init__(self, harness: Harness, router_id: str, address: str, interface: str = "e1") -> None:
        self.harness = harness
        self.router_id = A(router_id)
        self.address = A(address)
        self.interface = interface
        self.settings = harness.ospf.interfaces[interface].config

    def deliver(self, body: Body, destination: IPv4Address = ALL_SPF_ROUTERS, area: str = "0.0.0.0") -> None:
        payload = Packet(self.router_id, A(area), body).encode(self.settings.authentication)
        self.harness.ospf.receive(self.interface, self.address, destination, payload)

    def hello(
        self, sees_us: bool = True, dr: str = "0.0.0.0", bdr: str = "0.0.0.0", priority: int = 1
    ) -> None:
        neighbors = (A("1.1.1.1"),) if sees_us else ()
        interface = self.harness.ospf.interfaces[self.interface]
        mask = interface.address.netmask
        body = Hello(
            mask,
            self.settings.hello_interval,
            0x02,
            priority,
            self.settings.dead_interval,
            A(dr),
            A(bdr),
            neighbors,
        )
        self.deliver(body)

    def dd(self, flags: int, sequence: int, headers: Sequence[LsaHeader] = ()) -> None:
        self.deliver(DatabaseDescription(1500, 0x02, flags, sequence, tuple(headers)))

    def acknowledge_updates(self) -> None:
        """Acknowledges every update the harness sent out of this peer's interface."""
        updates = self.harness.take(LinkStateUpdate, self.interface)
        headers = tuple(lsa.header for sent in updates for lsa in sent.body.lsas)
        if headers:
            self.deliver(LinkStateAck(headers))

    @property
    def neighbor(self) -> Neighbor | None:
        return self.harness.ospf.interfaces[self.interface].find_neighbor(self.router_id, self.address)

    def lsa(self, seq: int = -0x7FFFFFFF, stub: str = "192.168.9.0", age: int = 0) -> Lsa:
        """A router-LSA of this peer: a p2p link back to us and one stub network."""
        links = (
            RouterLink(A("1.1.1.1"), self.address, RouterLinkType.POINT_TO_POINT, 10),
            RouterLink(A(stub), A("255.255.255.0"), RouterLinkType.STUB, 1),
        )
        lsa = Lsa.build(LsaType.ROUTER, self.router_id, self.router_id, seq, 0x02, RouterLsaBody(0, links))
        return lsa.with_age(age)

    def become_full_as_slave(self, headers: Sequence[LsaHeader] = ()) -> None:
        """Hello both ways, then a DD exchange in which this peer (lower router id) is the slave."""
        self.hello()
        init = [s.body for s in self.harness.take(DatabaseDescription, self.interface)][-1]  # maybe repeated
        assert isinstance(init, DatabaseDescription) and init.flags == DD_FLAG_I | DD_FLAG_M | DD_FLAG_MS
        self.dd(0, init.sequence, headers)  # the slave's first packet: its whole summary
        sequence = init.sequence
        while True:
            sent = [s.body for s in self.harness.take(DatabaseDescription, self.interface)]
            assert len(sent) == 1, sent
            master = sent[0]
            assert isinstance(master, DatabaseDescription) and master.sequence == (sequence + 1) & 0xFFFFFFFF
            sequence = master.sequence
            self.dd(0, sequence)
            if not master.more:
                break
