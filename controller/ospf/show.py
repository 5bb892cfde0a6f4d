"""``twinrouter show ospf``: the OSPF view's data as tables (neighbours, database, routes)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

_LSA_TYPES = {1: "router", 2: "network", 3: "summary", 4: "asbr-summary", 5: "external"}


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    return table


def render_neighbors(data: dict[str, Any]) -> Table:
    rows = [
        [n["router_id"], n["priority"], n["state"], n["address"], n["interface"], n["retransmissions"]]
        for n in data["neighbors"]
    ]
    columns = ["neighbor id", "pri", "state", "address", "interface", "rxmt list"]
    return _table(f"OSPF neighbours of {data['router_id']}", columns, rows)


def render_database(data: dict[str, Any]) -> Table:
    rows = [
        [_LSA_TYPES.get(d["type"], d["type"]), d["ls_id"], d["adv_router"], d["age"], d["seq"], d["checksum"]]
        for d in data["database"]
    ]
    return _table(
        "OSPF link-state database (area 0)", ["type", "link id", "adv router", "age", "seq", "checksum"], rows
    )


def render_routes(data: dict[str, Any]) -> Table:
    rows = []
    for route in data["routes"]:
        hops = ", ".join(
            f"via {h['address']} ({h['interface']})" if h["address"] else f"attached ({h['interface']})"
            for h in route["next_hops"]
        )
        rows.append([route["prefix"], route["cost"], hops, "*" if route["installed"] else ""])
    return _table("OSPF routes", ["prefix", "cost", "next hops (all equal-cost)", "in RIB"], rows)


def render_ospf(data: dict[str, Any]) -> list[Table]:
    return [render_neighbors(data), render_database(data), render_routes(data)]
