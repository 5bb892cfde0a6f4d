"""Pictures of a topology: an SVG for the README and docs, and a text listing for the terminal.

``python -m sim.networks.picture ring docs/demo-network.svg`` redraws the
README's picture from the topology description. The layout is simple and
deterministic: routers on a line when they form a path, otherwise on a
circle; each host outward from its router, away from the router's
neighbours; every link labelled with its subnet and OSPF cost, every router
interface with its address's last octet.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from .topology import TOPOLOGIES, Lan, LinkType, RouterKind, Topology

Point = tuple[float, float]

SPACING = 280.0  # between neighbouring routers
HOST_DISTANCE = 150.0
MARGIN = 70.0
LAN_OFFSET = 30.0  # a LAN's bridge sits this far below its routers' centre
COLOURS = {RouterKind.TWINROUTER: "#2b6cb0", RouterKind.FRR: "#c05621", "host": "#4a5568"}


def layout(topology: Topology) -> dict[str, Point]:
    """Position of every router and host (before margins)."""
    names = [r.name for r in topology.routers]
    degree = {n: 0 for n in names}
    for link in topology.links:
        degree[link.a] += 1
        degree[link.b] += 1
    positions: dict[str, Point] = {}
    is_path = (
        not topology.lans and len(topology.links) == len(names) - 1 and max(degree.values(), default=0) <= 2
    )
    if is_path and len(names) > 1:
        order = _walk_path(topology, next(n for n in names if degree[n] == 1))
        for i, name in enumerate(order):
            positions[name] = (i * SPACING, 0.0)
    else:
        radius = SPACING / (2 * math.sin(math.pi / max(len(names), 2))) if len(names) > 1 else 0.0
        for i, name in enumerate(names):
            angle = math.pi - 2 * math.pi * i / len(names)  # the first router on the left, clockwise
            positions[name] = (radius * math.cos(angle), -radius * math.sin(angle))
    for lan in topology.lans:
        # Its bridge between its routers (at their centre, shifted off a line through them).
        xs, ys = zip(*(positions[r] for r in lan.routers), strict=True)
        positions[lan.name] = (sum(xs) / len(xs), sum(ys) / len(ys) + LAN_OFFSET)
    for host in topology.hosts:
        positions[host.name] = _host_position(topology, positions, host.router, host.name)
    return positions


def _walk_path(topology: Topology, start: str) -> list[str]:
    order, previous = [start], None
    while True:
        here = order[-1]
        following = [
            other
            for link in topology.links
            for other in ((link.b,) if link.a == here else (link.a,) if link.b == here else ())
            if other != previous
        ]
        if not following:
            return order
        previous = here
        order.append(following[0])


def _host_position(topology: Topology, positions: dict[str, Point], router: str, host: str) -> Point:
    rx, ry = positions[router]
    neighbours = [positions[p.peer] for p in topology.ports(router) if not p.host_lan]
    dx = sum(rx - x for x, _ in neighbours)
    dy = sum(ry - y for _, y in neighbours)
    length = math.hypot(dx, dy)
    if length < 1e-6:
        dx, dy, length = 0.0, 1.0, 1.0  # in the middle of a line: below it
    # Several hosts on one router fan out around that direction.
    siblings = [h.name for h in topology.hosts if h.router == router]
    turn = (siblings.index(host) - (len(siblings) - 1) / 2) * 0.6
    angle = math.atan2(dy, dx) + turn
    return rx + HOST_DISTANCE * math.cos(angle), ry + HOST_DISTANCE * math.sin(angle)


def svg(topology: Topology) -> str:
    """The topology as a standalone SVG document."""
    positions = layout(topology)
    xs = [x for x, _ in positions.values()]
    ys = [y for _, y in positions.values()]
    left, top = min(xs) - MARGIN - 40, min(ys) - MARGIN - 20
    width, height = max(xs) - left + MARGIN + 40, max(ys) - top + MARGIN + 40
    centre = ((max(xs) + min(xs)) / 2 - left, (max(ys) + min(ys)) / 2 - top)

    def at(name: str) -> Point:
        x, y = positions[name]
        return x - left, y - top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="12" y="22" font-size="14" font-weight="bold">{escape(topology.name)}: '
        f"{escape(topology.description)}</text>",
        *_legend(topology, height),
    ]
    for link in topology.links:
        ends = at(link.a), at(link.b)
        cut = topology.cut is not None and {link.a, link.b} == set(topology.cut)
        dash = ' stroke-dasharray="9 6"' if cut else ""
        parts.append(_line(*ends, "#2d3748", 2.5, dash))
        lines = [f"{topology.port_towards(link.a, link.b).address.network}", f"cost {link.cost}"]
        if link.network is LinkType.BROADCAST:
            lines.append("broadcast (DR elected)")
        parts += _side_label(*ends, centre, [*lines, *(["cut by the demo"] if cut else [])], "#2d3748")
        for router, peer in ((link.a, link.b), (link.b, link.a)):
            parts.append(_end_label(at(router), at(peer), centre, topology.port_towards(router, peer)))
    for lan in topology.lans:
        parts += _lan(topology, lan, at, centre)
    for host in topology.hosts:
        ends = at(host.router), at(host.name)
        parts.append(_line(*ends, "#718096", 1.5, ""))
        port = topology.host_port(host.name)
        parts += _side_label(*ends, centre, [str(port.address.network)], "#4a5568")
        parts.append(_end_label(*ends, centre, topology.port_towards(host.router, host.name)))
    for router in topology.routers:
        x, y = at(router.name)
        colour = COLOURS[router.kind]
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="26" fill="{colour}"/>')
        parts.append(_text(x, y + 5, router.name, "#ffffff", 15, bold=True))
        parts.append(_text(x, y + 42, str(topology.router_id(router.name)), colour, 10))
    for host in topology.hosts:
        x, y = at(host.name)
        address = topology.host_port(host.name).address.ip
        parts.append(
            f'<rect x="{x - 22:.1f}" y="{y - 15:.1f}" width="44" height="30" rx="4" fill="{COLOURS["host"]}"/>'
        )
        parts.append(_text(x, y + 5, host.name, "#ffffff", 14, bold=True))
        parts.append(_text(x, y + 30, str(address), "#4a5568", 10))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _lan(topology: Topology, lan: Lan, at: Callable[[str], Point], centre: Point) -> list[str]:
    """A LAN: its bridge as a bar, a line to each router, the subnet and cost beside the bar."""
    x, y = at(lan.name)
    parts = [_line(at(router), (x, y), "#2d3748", 2.5, "") for router in lan.routers]
    parts.append(f'<rect x="{x - 40:.1f}" y="{y - 7:.1f}" width="80" height="14" rx="7" fill="#2d3748"/>')
    parts.append(_text(x, y + 4, lan.name, "#ffffff", 10, bold=True))
    subnet = topology.port_towards(lan.routers[0], lan.name).address.network
    caption = [str(subnet), f"cost {lan.cost}, broadcast (DR elected)"]
    parts += [_text(x - 8, y + 26 + 13 * i, line, "#2d3748", 11, "end") for i, line in enumerate(caption)]
    for router in lan.routers:
        parts.append(_end_label(at(router), (x, y), centre, topology.port_towards(router, lan.name)))
    return parts


def _legend(topology: Topology, height: float) -> list[str]:
    entries = [("twinrouter (router id below)", COLOURS[RouterKind.TWINROUTER])]
    if any(r.kind is RouterKind.FRR for r in topology.routers):
        entries.append(("FRR (zebra + ospfd)", COLOURS[RouterKind.FRR]))
    entries.append(("host", COLOURS["host"]))
    parts, x = [], 14.0
    for caption, colour in entries:
        parts.append(
            f'<rect x="{x:.0f}" y="{height - 24:.0f}" width="12" height="12" rx="2" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{x + 17:.0f}" y="{height - 14:.0f}" fill="#2d3748" font-size="11">{escape(caption)}</text>'
        )
        x += 30 + 6.5 * len(caption)
    return parts


def _line(a: Point, b: Point, colour: str, width: float, extra: str) -> str:
    return (
        f'<line x1="{a[0]:.1f}" y1="{a[1]:.1f}" x2="{b[0]:.1f}" y2="{b[1]:.1f}" '
        f'stroke="{colour}" stroke-width="{width}"{extra}/>'
    )


def _text(
    x: float, y: float, content: str, colour: str, size: int, anchor: str = "middle", bold: bool = False
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{colour}" '
        f'font-size="{size}"{weight}>{escape(content)}</text>'
    )


def _outward_normal(a: Point, b: Point, centre: Point) -> Point:
    """The unit normal of a-b pointing away from ``centre`` (down for a line through it)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / length, dx / length
    mx, my = (a[0] + b[0]) / 2 - centre[0], (a[1] + b[1]) / 2 - centre[1]
    if nx * mx + ny * my < 0 or (abs(nx * mx + ny * my) < 1e-6 and ny < 0):
        nx, ny = -nx, -ny
    return nx, ny


def _side_label(a: Point, b: Point, centre: Point, lines: list[str], colour: str) -> list[str]:
    """A link's label beside its middle, on the side away from the centre."""
    nx, ny = _outward_normal(a, b, centre)
    x, y = (a[0] + b[0]) / 2 + nx * 14, (a[1] + b[1]) / 2 + ny * 14
    anchor = "start" if nx > 0.3 else "end" if nx < -0.3 else "middle"
    y += 10 if ny > 0.3 else -(len(lines) - 1) * 13 - 4 if ny < -0.3 else -(len(lines) - 1) * 6.5 + 4
    return [_text(x, y + 13 * i, line, colour, 11, anchor) for i, line in enumerate(lines)]


def _end_label(here: Point, there: Point, centre: Point, port) -> str:
    """The interface's name and last octet, along the link near its router, on the inner side."""
    (x1, y1), (x2, y2) = here, there
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    nx, ny = _outward_normal(here, there, centre)
    x = x1 + (x2 - x1) * 74 / length - nx * 11
    y = y1 + (y2 - y1) * 74 / length - ny * 11 + 4
    octet = str(port.address.ip).rsplit(".", 1)[1]
    return _text(x, y, f"{port.name} .{octet}", "#718096", 10)


def text(topology: Topology) -> list[str]:
    """One line per link, for a terminal: ``r1 eth1 10.0.1.1 ──(10)── 10.0.1.2 eth1 r2``."""
    lines = []
    for link in topology.links:
        a, b = topology.port_towards(link.a, link.b), topology.port_towards(link.b, link.a)
        cut = "   (the demo cuts this link)" if topology.cut and {link.a, link.b} == set(topology.cut) else ""
        cut += "   (broadcast: DR elected)" if link.network is LinkType.BROADCAST else ""
        lines.append(
            f"{link.a:>3} {a.name} {a.address.ip!s:<9} ──({link.cost:>2})── "
            f"{b.address.ip!s:<9} {b.name} {link.b}{cut}"
        )
    for segment in topology.lans:
        members = ", ".join(
            f"{p.router} {p.name} .{str(p.address.ip).rsplit('.', 1)[1]}"
            for p in (topology.port_towards(r, segment.name) for r in segment.routers)
        )
        subnet = topology.port_towards(segment.routers[0], segment.name).address.network
        lines.append(f"{segment.name}: {subnet} ({segment.cost:>2}, broadcast: DR elected) joins {members}")
    for host in topology.hosts:
        port, lan = topology.host_port(host.name), topology.port_towards(host.router, host.name)
        lines.append(
            f"{host.router:>3} {lan.name} {lan.address.ip!s:<9} ──────── {port.address.ip!s:<9} {host.name}"
        )
    kinds = {r.name: r.kind for r in topology.routers}
    frr = [name for name, kind in kinds.items() if kind is RouterKind.FRR]
    if frr:
        lines.append(f"FRR routers: {', '.join(frr)}; every other router is a twinrouter")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in TOPOLOGIES:
        print(f"usage: python -m sim.networks.picture {{{','.join(TOPOLOGIES)}}} OUTPUT.svg", file=sys.stderr)
        return 2
    Path(argv[2]).write_text(svg(TOPOLOGIES[argv[1]]()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
