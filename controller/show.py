"""``twinrouter show VIEW --target …``: a running controller's live state as tables.

Each view is a status-socket query plus a renderer. To add one (the OSPF
speaker adds ``ospf``), register the view in the controller's
:class:`~controller.status.StatusServer` and add a line to :data:`RENDERERS`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sim.model.codes import DropReason, PuntReason

from .ospf.show import render_ospf
from .status import DEFAULT_RUN_DIR, query, socket_path


def _rows_table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    return table


def render_routes(data: list[dict[str, Any]]) -> list[Table]:
    rows = [
        {**r, "best": "*" if r["selected"] else "", "next_hop": r.get("next_hop") or r["action"]}
        for r in data
    ]
    return [_rows_table("routes", ["best", "prefix", "source", "distance", "next_hop", "port"], rows)]


def render_arp(data: list[dict[str, Any]]) -> list[Table]:
    return [_rows_table("ARP", ["ip", "mac", "port", "state", "expires_in", "held"], data)]


def render_interfaces(data: list[dict[str, Any]]) -> list[Table]:
    return [_rows_table("interfaces", ["name", "port", "mac", "address"], data)]


#: Reason-indexed counters are shown with the reasons' names.
_INDEX_NAMES: dict[str, type[IntEnum]] = {"ingress.drops": DropReason, "ingress.punts": PuntReason}


def _index_label(counter: str, index: int) -> str:
    names = _INDEX_NAMES.get(counter)
    if names is not None and index in names._value2member_map_:
        return f"{index} {names(index).name}"
    return str(index)


def render_counters(data: dict[str, Any]) -> list[Table]:
    tables = []
    for name, cells in data["switch"].items():
        rows = [
            {"index": _index_label(name, int(i)), "packets": p, "bytes": b}
            for i, (p, b) in sorted(cells.items(), key=lambda c: int(c[0]))
        ]
        tables.append(_rows_table(name, ["index", "packets", "bytes"], rows))
    events = [{"event": k, "count": v} for k, v in sorted(data["controller"].items())]
    tables.append(_rows_table("controller", ["event", "count"], events))
    if data.get("rejected"):
        rejected = [{"entry": k, "error": v} for k, v in data["rejected"].items()]
        tables.append(_rows_table("entries the switch refused", ["entry", "error"], rejected))
    return tables


#: view name -> renderer of that view's data
RENDERERS: dict[str, Callable[[Any], list[Table]]] = {
    "routes": render_routes,
    "arp": render_arp,
    "interfaces": render_interfaces,
    "counters": render_counters,
    "ospf": render_ospf,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("view", choices=sorted(RENDERERS), help="what to show")
    parser.add_argument("--target", default="127.0.0.1:9559", help="the switch the controller drives")
    parser.add_argument(
        "--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="where controllers' sockets are"
    )
    parser.add_argument("--json", action="store_true", help="print the raw JSON instead of tables")


def run(args: argparse.Namespace) -> int:
    path = socket_path(args.run_dir, args.target)
    try:
        data = asyncio.run(query(path, args.view))
    except (OSError, TimeoutError) as error:
        print(f"twinrouter show: no controller for {args.target} at {path}: {error}", file=sys.stderr)
        return 1
    except RuntimeError as error:
        print(f"twinrouter show: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    console = Console()
    for table in RENDERERS[args.view](data):
        console.print(table)
    return 0
