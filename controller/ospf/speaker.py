"""The OSPF instance inside the controller: punted OSPF in, packet-outs and RIB routes out.

``OspfSpeaker`` adapts the instance's boundary (``io.py``) to the
controller's ``Router``: it registers for IP protocol 89 (delivered by
the data plane as LOCAL punts: 224.0.0.5/6 are link-local multicast, and
unicast OSPF is addressed to the router), sends multicast OSPF as
finished frames to 01:00:5e:00:00:05/06 and unicast OSPF through ARP,
and hands each SPF run's routes to the RIB as source ``ospf``
(distance 110).

Equal-cost paths: the data plane's ``ipv4_lpm`` holds one next hop per
prefix, so the RIB gets ``OspfRoute.preferred``, the lowest next-hop
address; ``show ospf`` lists all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from controller.clock import Clock
from controller.config import ConfigError, RouterConfig
from controller.ospf.config import OspfConfig, OspfConfigError, parse_ospf_config
from controller.ospf.constants import IP_PROTOCOL
from controller.ospf.instance import OspfInstance
from controller.ospf.io import OspfInterfaceAddress, multicast_mac, ospf_datagram
from controller.ospf.routes import OspfRoute
from controller.packets import Ethernet, Ipv4, frame_with_ip
from controller.rib import Route, Source
from controller.router import Router
from sim.model.tables import NextHop

log = logging.getLogger(__name__)


def check_ospf_config(config: RouterConfig) -> OspfConfig:
    """The router's ``[ospf]`` section, validated; a ``ConfigError`` names the file and the field."""
    try:
        ospf = parse_ospf_config(config.ospf)
        for name in ospf.interfaces:
            if config.interface_by_name(name) is None:
                raise OspfConfigError(f"ospf.interfaces.{name}", "no [[interface]] of that name")
    except OspfConfigError as error:
        raise ConfigError(
            config.path, None, error.field, str(error).removeprefix(f"{error.field}: ")
        ) from None
    return ospf


class OspfSpeaker:
    def __init__(self, router: Router, clock: Clock | None = None) -> None:
        self._router = router
        config = router.config
        self._interfaces = {i.name: i for i in config.interfaces}
        self._names_by_port = {i.port: i.name for i in config.interfaces}
        addresses = [OspfInterfaceAddress(i.name, i.address) for i in config.interfaces]
        self.instance = OspfInstance(
            config.router_id, check_ospf_config(config), addresses, clock or router.clock, self, self
        )
        router.register_protocol(IP_PROTOCOL, self._packet_in)

    def start(self) -> None:
        self.instance.start()

    def stop(self) -> None:
        self.instance.stop()

    def _packet_in(self, ingress_port: int, ip: Ipv4, eth: Ethernet) -> None:
        name = self._names_by_port.get(ingress_port)
        if name is None:
            self._router.counters["ospf_unknown_port"] += 1
            return
        self.instance.receive(name, ip.src, ip.dst, ip.payload)

    # PacketSender
    def send(self, interface: str, source: IPv4Address, destination: IPv4Address, payload: bytes) -> None:
        config = self._interfaces[interface]
        datagram = ospf_datagram(source, destination, payload)
        if destination.is_multicast:
            frame = frame_with_ip(multicast_mac(destination), config.mac, datagram)
            self._router.send_frame(config.port, frame)
        else:
            self._router.arp.send_ip(datagram, destination, config.port)

    # RouteSink
    def update_routes(self, installed: Sequence[OspfRoute], withdrawn: Sequence[IPv4Network]) -> None:
        routes = []
        for route in installed:
            hop = route.preferred
            assert hop.address is not None  # directly attached routes are not exported
            action = NextHop(hop.address, self._interfaces[hop.interface].port)
            routes.append(Route(route.prefix, Source.OSPF, action, route.distance))
        self._router.change_routes(Source.OSPF, routes, withdrawn)

    def status(self) -> dict[str, Any]:
        return self.instance.status()


def attach_ospf(router: Router, status: Any | None = None) -> OspfSpeaker | None:
    """Starts OSPF on ``router`` when its config has ``[ospf]`` interfaces; registers the ``ospf`` view."""
    if not router.config.ospf.get("interfaces"):
        return None
    speaker = OspfSpeaker(router)
    speaker.start()
    if status is not None:

        async def view() -> dict[str, Any]:
            return speaker.status()

        status.register("ospf", view)
    log.info("OSPF router id %s on %s", speaker.instance.router_id, ", ".join(speaker.instance.interfaces))
    return speaker
