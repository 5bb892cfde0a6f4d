"""``twinrouter demo``: a network of twinrouters, from nothing to a rerouted link failure.

Builds the network (the ring of four by default) on the HDL target, waits
for OSPF to converge while showing each router's neighbours and routes,
pings between every pair of hosts, traces the route hop by hop, cuts a
link while a ping runs and measures how long traffic took to come back,
traces the new route, and prints a summary. The network is torn down
however the demo ends (Ctrl-C included), and the demo checks that nothing
was left behind.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from . import probes
from .network import Dataplane, Network, NetworkError, NetworkOptions, dataplane_problem
from .picture import text as picture_text
from .topology import DEFAULT_TOPOLOGY, TOPOLOGIES, RouterKind, Topology

log = logging.getLogger(__name__)

DATAPLANE_NAMES = {
    Dataplane.HDL: "the HDL router (Amaranth gateware, Verilated)",
    Dataplane.BMV2: "BMv2 (simple_switch_grpc running router.p4)",
    Dataplane.MODEL: "the reference model",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target", type=Dataplane, choices=list(Dataplane), default=Dataplane.HDL,
        help="the twinrouters' data plane (default %(default)s; bmv2 needs simple_switch_grpc)",
    )  # fmt: skip
    parser.add_argument(
        "--topology", choices=sorted(TOPOLOGIES), default=DEFAULT_TOPOLOGY, help="default %(default)s"
    )
    parser.add_argument(
        "--run-dir", type=Path, help="keep configurations and logs here (default: a temporary directory)"
    )
    parser.add_argument(
        "--p4info", type=Path, help="P4Info for the controllers (default: p4/build/router.p4info.txtpb)"
    )
    parser.add_argument("--device-config", type=Path, help="BMv2 JSON (default: p4/build/router.json)")
    parser.add_argument("--converge-timeout", type=float, default=90.0, help="seconds (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    topology = TOPOLOGIES[args.topology]()
    problem = dataplane_problem(args.target, args.device_config, args.p4info)
    if problem:
        console.print(f"[red]twinrouter demo: {problem}[/red]")
        return 2
    options = NetworkOptions(
        dataplane=args.target, run_dir=args.run_dir, p4info=args.p4info, device_config=args.device_config
    )
    return Demo(console, topology, options, args.converge_timeout).run()


@dataclass
class Summary:
    convergence: float | None = None
    pings: list[probes.PingResult] = field(default_factory=list)
    path_before: list[IPv4Address | None] = field(default_factory=list)
    path_after: list[IPv4Address | None] = field(default_factory=list)
    restored_after: float | None = None
    lost: int = 0
    failures: list[str] = field(default_factory=list)


class Demo:
    def __init__(
        self, console: Console, topology: Topology, options: NetworkOptions, converge_timeout: float
    ):
        self.console = console
        self.topology = topology
        self.options = options
        self.converge_timeout = converge_timeout
        self.summary = Summary()

    def run(self) -> int:
        console, topology = self.console, self.topology
        console.rule(
            f"[bold]twinrouter demo: the {topology.name} network on {DATAPLANE_NAMES[self.options.dataplane]}"
        )
        console.print(topology.description)
        for line in picture_text(topology):
            console.print(f"  {line}")
        network = Network(topology, self.options, progress=self._progress)
        started = time.monotonic()
        try:
            with console.status("starting the network") as self._status:
                network.start()
            console.print(
                f"[green]✓[/green] network up in {time.monotonic() - started:.1f} s (logs: {network.run_dir})"
            )
            self._steps(network)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: tearing the network down[/yellow]")
            self.summary.failures.append("interrupted")
        except (NetworkError, TimeoutError) as error:
            console.print(f"[red]✗ {error}[/red]")
            self.summary.failures.append(str(error))
        finally:
            self._teardown(network)
        self._print_summary()
        if "interrupted" in self.summary.failures:
            return 130
        return 1 if self.summary.failures else 0

    def _progress(self, message: str) -> None:
        status = getattr(self, "_status", None)
        if status is not None:
            status.update(message)
        log.info("%s", message)

    # --- the steps ---------------------------------------------------------------------

    def _steps(self, network: Network) -> None:
        self._converge(network)
        self._ping_all(network)
        hosts = [h.name for h in self.topology.hosts]
        source, destination = hosts[0], hosts[-1]
        self.summary.path_before = self._trace(network, source, destination, None)
        if self.topology.cut is not None:
            self._cut(network, source, destination, self.topology.cut)
            self.summary.path_after = self._trace(network, source, destination, self.topology.cut)

    def _converge(self, network: Network) -> None:
        self.console.print("[bold]1. OSPF converging[/bold] (1-second dead interval, 4 hellos a second)")
        last: list[Table] = []
        with Live(console=self.console, refresh_per_second=8, transient=True) as live:

            def show(states: list[probes.RouterProgress], elapsed: float) -> None:
                last[:] = [self._convergence_table(states, elapsed)]
                live.update(last[0])

            try:
                elapsed = probes.wait_converged(network, self.converge_timeout, on_progress=show)
            finally:
                live.update("")
        self.console.print(*last)  # the final state stays on screen, however it ended
        self.summary.convergence = elapsed
        self.console.print(f"[green]✓[/green] converged {elapsed:.1f} s after the routers started")

    def _convergence_table(self, states: list[probes.RouterProgress], elapsed: float) -> Table:
        table = Table(title=f"OSPF after {elapsed:4.1f} s", title_justify="left")
        for column in ("router", "kind", "neighbours Full", "routes via the right next hop", ""):
            table.add_column(column)
        for state in states:
            mark = "[green]✓[/green]" if state.converged else "[yellow]…[/yellow]"
            detail = state.error or ""
            table.add_row(
                state.name,
                "FRR" if state.kind is RouterKind.FRR else "twinrouter",
                _bar(state.full_neighbours, state.expected_neighbours),
                _bar(state.right_routes, state.expected_routes),
                f"{mark} {detail[:60]}",
            )
        return table

    def _ping_all(self, network: Network) -> None:
        self.console.print("[bold]2. ping between every pair of hosts[/bold]")
        table = Table()
        for column in ("from", "to", "sent", "received", "loss", "rtt min/avg/max (ms)"):
            table.add_column(column)
        for source, destination in itertools.permutations([h.name for h in self.topology.hosts], 2):
            address = self.topology.host_port(destination).address.ip
            result = probes.ping(network, source, address, count=5)
            self.summary.pings.append(result)
            rtt = (
                f"{result.rtt_min:.2f} / {result.rtt_avg:.2f} / {result.rtt_max:.2f}"
                if result.rtt_avg
                else "-"
            )
            colour = "green" if result.loss == 0 else "red"
            table.add_row(
                source, f"{destination} {address}", str(result.sent), str(result.received),
                f"[{colour}]{result.loss:.0%}[/{colour}]", rtt,
            )  # fmt: skip
            if result.loss:
                self.summary.failures.append(f"ping {source} → {destination}: {result.loss:.0%} loss")
        self.console.print(table)

    def _trace(
        self, network: Network, source: str, destination: str, without: tuple[str, str] | None
    ) -> list[IPv4Address | None]:
        address = self.topology.host_port(destination).address.ip
        step = "4." if without else "3."
        self.console.print(f"[bold]{step} traceroute -n {address}[/bold] from {source}")
        hops = probes.traceroute(network, source, address)
        expected = self.topology.hop_addresses(source, destination, without=without)
        owners = self.topology.address_owners()
        table = Table()
        for column in ("hop", "address", "who", ""):
            table.add_column(column)
        for number, hop in enumerate(hops, start=1):
            want = expected[number - 1] if number <= len(expected) else None
            ok = hop is not None and hop == want
            table.add_row(
                str(number), str(hop) if hop else "*", owners.get(hop, "") if hop else "",
                "[green]✓[/green]" if ok else f"[red]✗ expected {want}[/red]",
            )  # fmt: skip
        self.console.print(table)
        if hops != expected:
            self.summary.failures.append(f"traceroute {source} → {destination}: {hops} (expected {expected})")
        return hops

    def _cut(self, network: Network, source: str, destination: str, cut: tuple[str, str]) -> None:
        address = self.topology.host_port(destination).address.ip
        self.console.print(
            f"[bold]   cutting the cable {cut[0]}-{cut[1]}[/bold] while {source} pings {address} every 50 ms"
        )
        with self.console.status("waiting for the traffic to come back"):
            outage = probes.measure_cut(network, source, address, cut)
        self.summary.restored_after, self.summary.lost = outage.restored_after, outage.lost
        if outage.restored_after is None:
            self.summary.failures.append(f"traffic did not come back after cutting {cut[0]}-{cut[1]}")
            self.console.print("[red]✗ no replies after the cut[/red]")
        else:
            self.console.print(
                f"[green]✓[/green] traffic back {outage.restored_after:.2f} s after the cut "
                f"({outage.lost} of {outage.lost + len(outage.replies)} pings lost)"
            )

    def _teardown(self, network: Network) -> None:
        # A second Ctrl-C must not interrupt the teardown half-way.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            with self.console.status("tearing the network down"):
                network.stop(keep_logs=bool(self.summary.failures))
            left = network.leftovers()
        finally:
            signal.signal(signal.SIGINT, previous)
        if left:
            self.summary.failures.append(f"left behind: {', '.join(left)}")
            self.console.print(f"[red]✗ teardown left behind: {', '.join(left)}[/red]")
        elif network.nodes:
            self.console.print(
                "[green]✓[/green] network torn down: no processes, namespaces or interfaces left"
            )

    def _print_summary(self) -> None:
        s, owners = self.summary, self.topology.address_owners()
        lines = []
        if s.convergence is not None:
            lines.append(f"OSPF convergence      {s.convergence:.1f} s")
        averages = [p.rtt_avg for p in s.pings if p.rtt_avg is not None]
        if averages:
            received = sum(p.received for p in s.pings)
            sent = sum(p.sent for p in s.pings)
            lines.append(
                f"ping                  {received}/{sent} replies, rtt avg {sum(averages) / len(averages):.2f} ms "
                f"(min {min(p.rtt_min for p in s.pings if p.rtt_min is not None):.2f}, "
                f"max {max(p.rtt_max for p in s.pings if p.rtt_max is not None):.2f})"
            )
        if s.path_before:
            label = "route before the cut" if self.topology.cut else "route"
            lines.append(f"{label:<22}{_path(s.path_before, owners)}")
        if s.restored_after is not None:
            lines.append(
                f"link cut: restored in {s.restored_after:.2f} s ({s.lost} pings lost at 20 per second)"
            )
        if s.path_after:
            lines.append(f"route after the cut   {_path(s.path_after, owners)}")
        lines.append(
            "result                "
            + (
                "[green]all checks passed[/green]"
                if not s.failures
                else f"[red]{len(s.failures)} problem(s)[/red]"
            )
        )
        lines += [f"  [red]- {failure}[/red]" for failure in s.failures]
        self.console.print(Panel("\n".join(lines), title="summary", expand=False))


def _bar(have: int, want: int) -> str:
    colour = "green" if have >= want else "yellow"
    return f"[{colour}]{'■' * min(have, want)}{'□' * max(want - have, 0)}[/{colour}] {have}/{want}"


def _path(hops: list[IPv4Address | None], owners: dict[IPv4Address, str]) -> str:
    return " → ".join(owners.get(h, str(h)).split(" ")[0] if h else "*" for h in hops)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m sim.networks.demo")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
