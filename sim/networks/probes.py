"""What a network is doing: OSPF convergence, ping, traceroute, and the outage when a link is cut.

Each probe runs real tools (``ping``, ``traceroute -n``) in the hosts'
namespaces, or asks the routers themselves (a twinrouter's status socket,
an FRR router's kernel routing table), and parses what they say.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from .network import Network
from .topology import RouterKind


@dataclass(frozen=True)
class RouterProgress:
    """One router's view of the network while OSPF converges."""

    name: str
    kind: RouterKind
    full_neighbours: int
    expected_neighbours: int
    right_routes: int  # subnets routed to the next hop the topology says
    expected_routes: int
    error: str | None = None

    @property
    def converged(self) -> bool:
        return (
            self.error is None
            and self.full_neighbours >= self.expected_neighbours
            and self.right_routes >= self.expected_routes
        )


def router_progress(network: Network, router: str, without: tuple[str, str] | None = None) -> RouterProgress:
    """How far ``router`` is: OSPF neighbours Full, and routes whose next hop is the right one."""
    topology = network.topology
    kind = topology.router(router).kind
    expected = topology.next_hops(router, without)
    links = topology.expected_full_neighbours(router, without)
    try:
        if kind is RouterKind.FRR:
            neighbours, routes = _frr_state(network, router)
        else:
            neighbours, routes = _twinrouter_state(network, router)
    except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        return RouterProgress(
            router, kind, 0, links, 0, len(expected), error=f"{type(error).__name__}: {error}"
        )
    right = sum(1 for subnet, hop in expected.items() if hop in routes.get(subnet, ()))
    return RouterProgress(router, kind, neighbours, links, right, len(expected))


def _twinrouter_state(network: Network, router: str) -> tuple[int, dict[IPv4Network, set[IPv4Address]]]:
    ospf = network.status(router, "ospf")
    full = sum(1 for n in ospf["neighbors"] if n["state"].lower().endswith("full"))
    routes = {
        IPv4Network(r["prefix"]): {IPv4Address(r["next_hop"])}
        for r in network.status(router, "routes")
        if r["selected"] and r.get("next_hop")
    }
    return full, routes


def _frr_state(network: Network, router: str) -> tuple[int, dict[IPv4Network, set[IPv4Address]]]:
    result = _vtysh(network, router, "show ip ospf neighbor json")
    neighbours = json.loads(result.stdout or "{}").get("neighbors", {})
    # One entry per (neighbour, interface): a neighbour met on two links is two adjacencies.
    full = sum(1 for entries in neighbours.values() for e in entries if "Full" in e.get("nbrState", ""))
    routes: dict[IPv4Network, set[IPv4Address]] = {}
    for route in json.loads(network.run(router, ["ip", "-j", "-4", "route", "show"]).stdout or "[]"):
        destination = route["dst"]
        if destination == "default":
            continue
        hops = [route, *route.get("nexthops", [])]
        prefix = IPv4Network(destination if "/" in destination else f"{destination}/32")
        routes[prefix] = {IPv4Address(h["gateway"]) for h in hops if "gateway" in h}
    return full, routes


def _vtysh(network: Network, router: str, command: str) -> subprocess.CompletedProcess[str]:
    """``command`` on an FRR router's ospfd, through its own vty socket."""
    workdir = network.run_dir / router
    return subprocess.run(
        ["vtysh", "--vty_socket", str(workdir), "-d", "ospfd", "-c", command],
        capture_output=True,
        text=True,
        timeout=5,
        check=True,
    )


@dataclass(frozen=True)
class Election:
    """One router's view of the designated routers of a LAN or broadcast link (their addresses)."""

    router: str
    state: str  # the router's own role: DR, Backup or DROther
    dr: IPv4Address
    bdr: IPv4Address


def election(network: Network, router: str, peer: str) -> Election:
    """``router``'s view of the DR and BDR on its port towards ``peer`` (a LAN, or the router at the
    other end of a broadcast link): from the controller's ``ospf`` status, or from FRR's
    ``show ip ospf interface``."""
    port = network.topology.port_towards(router, peer)
    if network.topology.router(router).kind is RouterKind.FRR:
        view = json.loads(_vtysh(network, router, f"show ip ospf interface {port.ifname} json").stdout)
        interface = view.get("interfaces", view)[port.ifname]
        state = interface["state"]
        dr, bdr = interface.get("drAddress", "0.0.0.0"), interface.get("bdrAddress", "0.0.0.0")
    else:
        ours = next(i for i in network.status(router, "ospf")["interfaces"] if i["name"] == port.name)
        state, dr, bdr = ours["state"], ours["dr"], ours["bdr"]
    # Both name the interface states as RFC 2328 does: DR, Backup, DROther.
    return Election(router, state, IPv4Address(dr), IPv4Address(bdr))


def wait_converged(
    network: Network,
    timeout: float = 60.0,
    on_progress: Callable[[list[RouterProgress], float], None] | None = None,
    interval: float = 0.25,
    without: tuple[str, str] | None = None,
) -> float:
    """Wait until every router is Full with all its neighbours and routes every subnet it is not
    attached to through the next hop the topology says (``without``: a cut link).

    Returns the seconds it took; raises TimeoutError with each router's state.
    """
    start = time.monotonic()
    checked = start
    while True:
        states = [router_progress(network, r.name, without) for r in network.topology.routers]
        elapsed = time.monotonic() - start
        if any(s.error for s in states) or time.monotonic() - checked > 2:
            network.check_alive()  # a router that died says so now, not at the timeout
            checked = time.monotonic()
        if on_progress:
            on_progress(states, elapsed)
        if all(s.converged for s in states):
            return elapsed
        if elapsed > timeout:
            summary = "; ".join(
                f"{s.name}: {s.full_neighbours}/{s.expected_neighbours} Full, "
                f"{s.right_routes}/{s.expected_routes} routes{' (' + s.error + ')' if s.error else ''}"
                for s in states
            )
            raise TimeoutError(f"OSPF did not converge in {timeout:.0f} s: {summary}")
        time.sleep(interval)


# --- ping -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PingResult:
    source: str
    destination: IPv4Address
    sent: int
    received: int
    rtt_min: float | None  # milliseconds
    rtt_avg: float | None
    rtt_max: float | None

    @property
    def loss(self) -> float:
        return 1 - self.received / self.sent if self.sent else 1.0


_PACKETS = re.compile(r"(\d+) packets transmitted, (\d+) received")
_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)/")


def parse_ping(source: str, destination: IPv4Address, output: str) -> PingResult:
    packets = _PACKETS.search(output)
    if not packets:
        raise ValueError(f"no ping summary in: {output!r}")
    rtt = _RTT.search(output)
    values = [float(v) for v in rtt.groups()] if rtt else [None, None, None]
    return PingResult(source, destination, int(packets[1]), int(packets[2]), *values)


def ping(
    network: Network, source: str, destination: IPv4Address, count: int = 5, interval: float = 0.2
) -> PingResult:
    argv = ["ping", "-n", "-c", str(count), "-i", str(interval), "-W", "1", str(destination)]
    result = network.run(source, argv, timeout=count * interval + 10)
    return parse_ping(source, destination, result.stdout)


# --- traceroute ------------------------------------------------------------------------


_HOP = re.compile(r"^\s*(\d+)\s+(\S+)")


def parse_traceroute(output: str) -> list[IPv4Address | None]:
    """The address of each hop in ``traceroute -n -q 1`` output (None for ``*``)."""
    hops: list[IPv4Address | None] = []
    for line in output.splitlines()[1:]:
        match = _HOP.match(line)
        if match:
            hops.append(None if match[2] == "*" else IPv4Address(match[2]))
    return hops


def traceroute(
    network: Network, source: str, destination: IPv4Address, max_hops: int = 10
) -> list[IPv4Address | None]:
    # One probe per hop, one at a time (-N 1): each router's ICMP error rate limit stays far away.
    argv = ["traceroute", "-n", "-q", "1", "-N", "1", "-w", "1", "-m", str(max_hops), str(destination)]
    return parse_traceroute(network.run(source, argv, timeout=max_hops * 2 + 10).stdout)


# --- a link cut -------------------------------------------------------------------------


#: without a loss this long after the cut, traffic is taken to have never stopped
NO_LOSS_WAIT = 3.0
#: no reply for this long means the replies have stopped (even with no sequence number missing yet)
STALL = 0.5
_REPLY = re.compile(r"^\[(\d+\.\d+)\].*icmp_seq=(\d+)")


@dataclass
class Outage:
    """A steady ping while a link is cut: how long replies stopped."""

    interval: float
    replies: list[tuple[float, int]] = field(default_factory=list)  # (receive time, sequence)
    cut_at: float | None = None
    #: when the replies were last looked at (epoch seconds); None: they are all there is
    until: float | None = None

    @property
    def restored_after(self) -> float | None:
        """Seconds from the cut to the first reply after it that follows a loss (0: no loss).

        None while traffic has not come back: no reply after the cut, or replies (those in
        flight when the cable went) that stopped ``STALL`` seconds before ``until``.
        """
        if self.cut_at is None:
            return None
        replies = list(self.replies)  # the reader thread appends while we look
        after = [(t, seq) for t, seq in replies if t > self.cut_at]
        before = [seq for t, seq in replies if t <= self.cut_at]
        if not after:
            return None
        expected = (max(before) + 1) if before else after[0][1]
        for t, seq in after:
            if seq != expected:
                return t - self.cut_at  # replies resumed after a gap
            expected = seq + 1
        if self.until is not None and self.until - after[-1][0] > STALL:
            return None  # no gap yet, but the replies have stopped
        return 0.0

    @property
    def lost(self) -> int:
        if not self.replies:
            return 0
        sequences = [seq for _, seq in self.replies]
        return max(sequences) - min(sequences) + 1 - len(set(sequences))


def measure_cut(
    network: Network,
    source: str,
    destination: IPv4Address,
    cut: tuple[str, str],
    interval: float = 0.05,
    settle: float = 1.0,
    timeout: float = 15.0,
    after: float = 1.0,
) -> Outage:
    """Ping steadily, cut the link ``cut`` after ``settle`` seconds, stop ``after`` seconds of replies
    once traffic is back (or at ``timeout``)."""
    outage = Outage(interval)
    argv = ["ping", "-n", "-D", "-i", str(interval), "-W", "1", str(destination)]
    process = network.popen(source, argv)
    lines = threading.Thread(target=_collect_replies, args=(process, outage), daemon=True)
    lines.start()
    try:
        time.sleep(settle)
        outage.cut_at = time.time()
        network.set_link(*cut, up=False)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            outage.until = time.time()
            restored, since_cut = outage.restored_after, outage.until - outage.cut_at
            if restored is not None and since_cut > max(restored, NO_LOSS_WAIT) + after:
                break  # replies came back (or never stopped) and kept coming for ``after`` seconds
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(5)
        lines.join(5)
        outage.until = time.time()
    return outage


def _collect_replies(process: subprocess.Popen[str], outage: Outage) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        match = _REPLY.match(line)
        if match:
            outage.replies.append((float(match[1]), int(match[2])))
