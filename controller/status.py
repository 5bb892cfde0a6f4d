"""The controller's status socket: live state for ``twinrouter show``.

One Unix socket per controller, named after its target, under a run
directory. A client writes one JSON line ``{"view": "routes"}`` and reads
one JSON document back. Views are registered by name, so a subsystem that
comes later (OSPF) adds its own with :meth:`StatusServer.register`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sim.model.tables import Direct, NextHop, NullRoute

from .router import Router

log = logging.getLogger(__name__)

DEFAULT_RUN_DIR = Path(os.environ.get("TWINROUTER_RUN_DIR", "/tmp/twinrouter"))
View = Callable[[], Awaitable[Any]]


def socket_path(run_dir: Path, target: str) -> Path:
    """Where the controller for ``target`` (host:port) listens."""
    return run_dir / (re.sub(r"[^A-Za-z0-9.-]", "_", target) + ".sock")


class StatusServer:
    def __init__(self, path: Path):
        self.path = path
        self.views: dict[str, View] = {}
        self._server: asyncio.AbstractServer | None = None

    def register(self, name: str, view: View) -> None:
        self.views[name] = view

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by a controller that did not exit cleanly
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = json.loads(await reader.readline())
            name = request.get("view") if isinstance(request, dict) else None
            view = self.views.get(name) if isinstance(name, str) else None
            if view is None:
                reply: dict[str, Any] = {"error": f"unknown view {name!r}; have {sorted(self.views)}"}
            else:
                reply = {"view": name, "data": await view()}
        except Exception as error:  # a bad client or a failing view must not stop the server
            log.exception("status request failed")
            reply = {"error": f"{type(error).__name__}: {error}"}
        writer.write(json.dumps(reply).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
            writer.close()


async def query(path: Path, view: str, timeout: float = 5.0) -> Any:
    """Ask the controller at ``path`` for ``view``; raises OSError or RuntimeError."""
    reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), timeout)
    try:
        writer.write(json.dumps({"view": view}).encode() + b"\n")
        await writer.drain()
        reply = json.loads(await asyncio.wait_for(reader.readline(), timeout))
    finally:
        writer.close()
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply["data"]


# --- the router's views -----------------------------------------------------------


def route_action_json(action: Any) -> dict[str, Any]:
    if isinstance(action, NextHop):
        return {"action": "via", "next_hop": str(action.ip), "port": action.port}
    if isinstance(action, Direct):
        return {"action": "direct", "port": action.port}
    assert isinstance(action, NullRoute)
    return {"action": "null"}


def routes_view(router: Router) -> list[dict[str, Any]]:
    return [
        {
            "prefix": str(route.prefix),
            "source": route.source.value,
            "distance": route.distance,
            "selected": selected,
            **route_action_json(route.action),
        }
        for route, selected in router.rib.candidates()
    ]


def arp_view(router: Router) -> list[dict[str, Any]]:
    now = router.clock.now()
    rows: list[dict[str, Any]] = [
        {
            "ip": str(n.ip),
            "mac": str(n.mac),
            "port": n.port,
            "state": "reachable",
            "expires_in": round(n.expires - now, 1),
        }
        for n in sorted(router.arp.neighbours.values(), key=lambda n: n.ip)
    ]
    rows += [
        {"ip": str(r.ip), "mac": None, "port": r.port, "state": "resolving", "held": len(r.held)}
        for r in sorted(router.arp.resolving.values(), key=lambda r: r.ip)
        if r.ip not in router.arp.neighbours
    ]
    return rows


def interfaces_view(router: Router) -> list[dict[str, Any]]:
    return [
        {"name": i.name, "port": i.port, "mac": str(i.mac), "address": str(i.address)}
        for i in router.config.interfaces
    ]


def register_router_views(status: StatusServer, router: Router) -> None:
    """``routes``, ``arp``, ``interfaces``, and ``counters`` with the controller's own counts."""

    async def routes() -> Any:
        return routes_view(router)

    async def arp() -> Any:
        return arp_view(router)

    async def interfaces() -> Any:
        return interfaces_view(router)

    async def counters() -> Any:
        return {"switch": {}, "controller": dict(router.counters), "rejected": {}}

    for name, view in (("routes", routes), ("arp", arp), ("interfaces", interfaces), ("counters", counters)):
        status.register(name, view)
