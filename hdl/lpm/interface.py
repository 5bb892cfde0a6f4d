"""The port every LPM engine presents to the router core.

The core depends only on this module, so an engine can be swapped for
another (a different structure, a different capacity) without touching it.
"""

# No `from __future__ import annotations` here: data.Struct reads its field
# shapes from the class annotations, which must stay objects, not strings.
from amaranth.hdl import unsigned
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out

from hdl.mgmt import MgmtSignature
from sim.model.codes import PORT_BITS


class RouteKind(enum.IntEnum, shape=2):
    """The ``ipv4_lpm`` action a prefix carries."""

    NEXTHOP = 0  # set_nexthop(nhop_ip, port)
    DIRECT = 1  # set_direct(port): the destination is the next hop
    DROP = 2  # drop: null route


class LpmResult(data.Struct):
    """One lookup's answer. ``hit == 0`` means no prefix matched (punt NO_ROUTE)."""

    hit: 1
    kind: RouteKind
    nhop: 32
    port: PORT_BITS


class LpmEngineSignature(wiring.Signature):
    """An LPM engine, seen from outside.

    * ``lookup``: destination addresses in; ``result``: answers out, in order,
      one per lookup. An engine accepts one lookup per clock while
      ``result.ready`` is high and states its latency in its docstring.
    * ``mgmt``: the engine's memories on the management bus; lookups in
      flight see either the table before a host update or after it, never a mix.
    """

    def __init__(self, mgmt_addr_width: int):
        super().__init__(
            {
                "lookup": In(stream.Signature(unsigned(32))),
                "result": Out(stream.Signature(LpmResult)),
                "mgmt": In(MgmtSignature(mgmt_addr_width)),
            }
        )
