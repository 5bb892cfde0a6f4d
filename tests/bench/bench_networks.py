"""Reroute in a real network: the Mininet ring of four twinrouters, a cable cut under a steady ping.

The ring of sim/networks/topology.py (h1 behind r1, h2 behind r3; the short
path r1-r2-r3, the long one r1-r4-r3) runs on each data plane here: the HDL
target (the gateware under Verilator) and BMv2 when ``simple_switch_grpc`` is
on PATH. Once OSPF has converged and pings pass, h1 pings h2 every 10 ms;
the r1-r2 cable is cut (both its ends lose carrier, which the twinrouters'
data planes do not report, so only the dead interval finds it) and the
reroute time is the time from the cut to the first reply after the gap.
Twice: with a 1-second dead interval (4 hellos a second, the networks'
setting) and with RFC 2328's defaults (hello 10 s, dead 40 s). Then the same
cut in the mixed network (FRR among the twinrouters; r1's traffic for h2 goes
across the LAN of all three once r1-r2 is cut), with the fast timers.

Each run also prints the controllers' timeline after the cut, from their
logs (``-v``): when each neighbour was declared dead, and when each SPF run
changed routes, so that the time between them is accounted for.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime

from sim.networks import probes
from sim.networks.configs import DEFAULT_TIMING, OspfTiming
from sim.networks.network import Dataplane, Network, NetworkOptions, dataplane_problem
from sim.networks.topology import Topology, mixed, ring4

PING_INTERVAL = 0.01
RUNS = 3  # cuts per network with the fast timers (the cable is reconnected in between)
FAST = "dead interval 1 s, 4 hellos/s"
#: (network, timers, their name, cuts)
CASES = [
    (ring4, OspfTiming(), FAST, RUNS),
    (ring4, DEFAULT_TIMING, "defaults (hello 10 s, dead 40 s)", 1),
    (mixed, OspfTiming(), FAST, RUNS),
]

#: controller log lines worth a place on the timeline
_EVENT = re.compile(r"neighbour .* -> Down|ospf: \d+ routes|interface .* -> ")
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \S+ \S+ (.*)$")


@dataclass(frozen=True)
class Reroute:
    restored_after: float | None
    lost: int
    timeline: list[tuple[float, str, str]]  # (seconds after the cut, router, what)


def timeline(network: Network, since: float) -> list[tuple[float, str, str]]:
    """The OSPF events in every twinrouter's log after ``since`` (epoch seconds)."""
    events = []
    for router in network.topology.twinrouters():
        path = network.run_dir / router.name / "controller.log"
        for line in path.read_text(errors="replace").splitlines():
            match = _STAMP.match(line)
            if not match or not _EVENT.search(match[2]):
                continue
            when = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            if when >= since:
                events.append((when - since, router.name, match[2]))
    return sorted(events)


def cut_once(network: Network, cut: tuple[str, str]) -> Reroute:
    topology = network.topology
    address = topology.host_port("h2").address.ip
    outage = probes.measure_cut(network, "h1", address, cut, interval=PING_INTERVAL, timeout=90.0)
    assert outage.cut_at is not None
    return Reroute(outage.restored_after, outage.lost, timeline(network, outage.cut_at))


def measure(
    topology: Topology, dataplane: Dataplane, timing: OspfTiming, runs: int, quiet: float = 6.0
) -> list[Reroute]:
    """``runs`` cuts of the network's ``cut`` cable while h1 pings h2, each ``quiet`` seconds after
    OSPF converged (and the cable reconnected in between)."""
    assert topology.cut is not None
    results = []
    options = NetworkOptions(dataplane=dataplane, timing=timing, verbose=True)
    with Network(topology, options) as network:
        for run in range(runs):
            probes.wait_converged(network, 120.0)
            time.sleep(quiet)
            probes.wait_converged(network, 10.0)
            results.append(cut_once(network, topology.cut))
            network.set_link(*topology.cut, up=True)
            if run + 1 < runs:
                probes.wait_converged(network, 120.0)
    return results


def describe(result: Reroute) -> str:
    if result.restored_after is None:
        return "traffic did not come back"
    return f"{result.restored_after:.2f} s ({result.lost} pings lost at {1 / PING_INTERVAL:.0f}/s)"


def breakdown(result: Reroute) -> str:
    """Dead detection (the first neighbour declared dead), routing (until the last SPF run that
    changed routes), and the rest: FIB writes, the ping's interval and one round trip."""
    if result.restored_after is None:
        return "no reroute"
    # What came after the traffic did (the far end noticing late) did not hold it up.
    before = [(when, what) for when, _, what in result.timeline if when <= result.restored_after]
    dead = [when for when, what in before if "-> Down" in what]
    routed = [when for when, what in before if "ospf:" in what]
    if not dead or not routed:
        return "no timeline"
    last = max(routed)
    return (
        f"dead at {min(dead):.2f} s, routes changed by {last:.2f} s, "
        f"traffic {1000 * (result.restored_after - last):.0f} ms later"
    )


def main() -> None:
    if os.geteuid() != 0:
        print("skipped: the network benchmark needs root (network namespaces)")
        return
    dataplanes = [Dataplane.HDL]
    if shutil.which("simple_switch_grpc"):
        dataplanes.append(Dataplane.BMV2)
    else:
        print("BMv2 rows skipped: simple_switch_grpc is not on PATH")
    for dataplane in dataplanes:
        problem = dataplane_problem(dataplane)
        if problem:
            print(f"{dataplane}: skipped: {problem}")
            continue
        for network, timing, name, runs in CASES:
            topology = network()
            results = measure(topology, dataplane, timing, runs)
            figures = ", ".join(describe(r) for r in results)
            print(f"{topology.name} on {dataplane}, {name}: reroute {figures}", flush=True)
            for result in results:
                print(f"  {breakdown(result)}")
            print("  the first cut's timeline:")
            for when, router, what in results[0].timeline[:20]:
                print(f"    +{when:6.3f} s  {router}  {what}")


if __name__ == "__main__":
    main()
