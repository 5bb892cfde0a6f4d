"""``OspfInstance.status()``: the instance as plain, JSON-serialisable data (the ``ospf`` status view)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.ospf.instance import OspfInstance


def snapshot(instance: OspfInstance, now: float) -> dict[str, Any]:
    return {
        "router_id": str(instance.router_id),
        "interfaces": [
            {
                "name": i.name,
                "address": str(i.address),
                "network": i.config.network.value,
                "state": str(i.state),
                "cost": i.config.cost,
                "dr": str(i.dr),
                "bdr": str(i.bdr),
                "passive": i.config.passive,
            }
            for i in instance.interfaces.values()
        ],
        "neighbors": [
            {
                "router_id": str(n.router_id),
                "address": str(n.address),
                "interface": i.name,
                "state": str(n.state),
                "priority": n.priority,
                "dr": str(n.dr),
                "bdr": str(n.bdr),
                "retransmissions": len(n.retransmissions),
                "requests": len(n.requests),
                "events": list(n.events),
            }
            for i in instance.interfaces.values()
            for n in sorted(i.neighbors.values(), key=lambda n: n.router_id)
        ],
        "database": [
            {
                "type": lsa.header.type,
                "ls_id": str(lsa.header.ls_id),
                "adv_router": str(lsa.header.adv_router),
                "age": lsa.header.age,
                "seq": f"{lsa.header.seq & 0xFFFFFFFF:#010x}",
                "checksum": f"{lsa.header.checksum:#06x}",
                "length": lsa.header.length,
            }
            for lsa in sorted(
                instance.lsdb.lsas(), key=lambda lsa: (lsa.key.type, lsa.key.ls_id, lsa.key.adv_router)
            )
        ],
        "routes": [
            {
                "prefix": str(route.prefix),
                "cost": route.cost,
                "next_hops": [
                    {"address": str(h.address) if h.address else None, "interface": h.interface}
                    for h in route.next_hops
                ],
                "installed": prefix in instance.routes,
            }
            for prefix, route in sorted(instance.routing_table.items())
        ],
        "spf_runs": instance.spf_runs,
        "last_spf_ms": round(instance.last_spf_seconds * 1000, 3),
        "drops": {str(reason): count for reason, count in sorted(instance.drops.items())},
        "received": dict(sorted(instance.received.items())),
        "sent": dict(sorted(instance.sent.items())),
    }
