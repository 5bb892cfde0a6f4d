"""OSPFv2 (RFC 2328): single area 0, point-to-point and broadcast interfaces.

The protocol engine is synchronous and event driven: packets, timer expiries
and interface events go in; packets, routes and status come out through the
small interfaces in ``io.py``. Time comes from a ``Clock`` (``clock.py``), so
the whole protocol runs under a fake clock in tests and under asyncio in the
controller. See docs/ospf.md.
"""

from controller.ospf.config import OspfConfig, OspfConfigError, OspfInterfaceConfig, parse_ospf_config
from controller.ospf.instance import OspfInstance
from controller.ospf.io import OspfInterfaceAddress, PacketSender, RouteSink
from controller.ospf.routes import OspfNextHop, OspfRoute

__all__ = [
    "OspfConfig",
    "OspfConfigError",
    "OspfInstance",
    "OspfInterfaceAddress",
    "OspfInterfaceConfig",
    "OspfNextHop",
    "OspfRoute",
    "PacketSender",
    "RouteSink",
    "parse_ospf_config",
]
