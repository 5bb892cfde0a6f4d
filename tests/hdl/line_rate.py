"""Full offered load on the router's front ports, and the delivered rate counted in cycles.

Every front port sends back-to-back frames of one size (no idle cycle) to the
next port's subnet (port i -> port i+1, the last -> 1), so each output has
exactly one input and is never oversubscribed, and the outputs never push
back. A port's rate is the beats it carried divided by the cycles from the
first beat of its ``WARM_UP + 1``-th frame to the last beat of its last
frame (the first frames only fill the pipeline): 1.0 means one beat every
clock, no bubble between frames.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from hdl.stream import beats_in
from sim.model import TableState
from tests.hdl.cocotb_jobs import Traffic

#: Sources never idle, sinks never stall.
FULL_LOAD = Traffic(idle=0.0, stall=0.0)
#: Frames at the start of each port not counted (the pipeline filling).
WARM_UP = 2


def ring_frame(tables: TableState, port: int, size: int) -> bytes:
    """A ``size``-byte IPv4 frame into ``port`` for the gateway on the next port's subnet.

    For :func:`tests.hdl.frames.example_tables`, which has that gateway as a neighbour.
    """
    from tests.hdl.frames import ipv4_frame

    to = port % tables.num_ports + 1
    mac = tables.router_mac(port)
    if mac is None or size < 34:
        raise ValueError(f"port {port} has no router MAC or {size} bytes cannot hold Ethernet + IPv4")
    src, dst = IPv4Address(f"10.{port}.0.9"), IPv4Address(f"10.{to}.0.254")
    return ipv4_frame(mac.packed, src, dst, payload=bytes(size - 34))


def ring_traffic(tables: TableState, size: int, frames_per_port: int) -> list[tuple[int, bytes]]:
    return [
        (port, ring_frame(tables, port, size))
        for _ in range(frames_per_port)
        for port in range(1, tables.num_ports + 1)
    ]


def _rate(first: list[int], last: list[int], beats: int) -> float:
    counted = len(first) - WARM_UP
    return counted * beats / (last[-1] - first[WARM_UP] + 1)


def rates(result: dict, ports: int, size: int, width: int) -> tuple[float, float]:
    """(worst output's delivered rate, worst input's accepted rate) of one full-load group."""
    beats = beats_in(size, width)
    delivered = min(_rate(result["received_at"][j], result["finished_at"][j], beats) for j in range(ports))
    accepted = min(_rate(result["sent_at"][i], result["done_at"][i], beats) for i in range(ports))
    return delivered, accepted
