"""Controller benchmarks: route installation rate, and ARP resolution latency.

Route installation: routes into a fresh P4Runtime target, three ways in the
same run, each on a fresh target: raw gRPC WriteRequests of up to 1,000
updates each (encoded before the clock starts), raw WriteRequests of one
update each (what p4runtime-shell does), and through the controller's own
code path (``Router.update_routes`` -> RIB -> change set -> plan -> wire
encoding -> ``P4RuntimeDataplane``), timed until the switch has
acknowledged every update and the controller has recorded it. The raw
batched and the controller runs alternate, REPEATS pairs, because the
machine is shared: the rates are the median and the best of those, and
the ratio is the median of each pair's ratio (a pair ran under about the
same load).
Targets, each a process of its own: our P4Runtime server with the
reference model as data plane, BMv2 when ``simple_switch_grpc`` is on
PATH, and ``twinrouter hdl-switch`` (the Verilated gateware behind the
management channel; its LPM holds 512 prefixes, so fewer routes, one /24
per /12, which its LPM stores most cheaply).

ARP resolution latency: a host sends to a neighbour the router has never
seen; timed from the frame entering the switch to it leaving towards the
neighbour (punt, ARP request, reply, install, packet-out), the neighbour
answering as soon as it sees the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import grpc
from finsy.proto.p4.v1 import p4runtime_pb2 as p4r
from finsy.proto.p4.v1 import p4runtime_pb2_grpc

from controller.clock import AsyncioClock
from controller.config import parse_config
from controller.intent import Op, Table, Update
from controller.p4rt import P4RuntimeDataplane, PipelineFiles
from controller.p4rt_codec import EntryCodec
from controller.rib import Route, Source
from controller.router import Router
from controller.service import freeze_startup_objects
from sim.model import NextHop
from sim.p4build import BMV2_JSON_PATH, P4INFO_PATH
from tests.controller.conftest import TWO_INTERFACES_TOML

BATCH = 1_000
#: Seconds between the pipeline being in place and the clock starting, in every run: a target
#: just started is still busy (the HDL target writes a third as fast in its first second).
SETTLE = 1.0
REPEATS = 7
CONFIG = parse_config(TWO_INTERFACES_TOML, "bench.toml")
GATEWAY = NextHop(IPv4Address("10.0.2.254"), 2)


def adjacent_routes(count: int) -> list[IPv4Network]:
    """``count`` /24s from 100.0.0.0 up, side by side."""
    return [IPv4Network((0x64000000 + (i << 8), 24)) for i in range(count)]


def spread_routes(count: int) -> list[IPv4Network]:
    """``count`` /24s from 11.0.0.0 up, one per /12 (at most 4,000)."""
    return [IPv4Network((0x0B000000 + (i << 20), 24)) for i in range(count)]


# --- targets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    start: Callable[[], contextlib.AbstractContextManager[tuple[str, PipelineFiles]]]
    routes: list[IPv4Network]
    one_by_one: int  # fewer: one request per entry is slow
    repeats: int = REPEATS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _switch_process(argv: list[str], port: int, log: Path) -> Iterator[str]:
    """Run a switch that serves P4Runtime on 127.0.0.1:``port``; stop it by its PID."""
    with log.open("wb") as output:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start; see {log}")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def model_target() -> Iterator[tuple[str, PipelineFiles]]:
    """Our P4Runtime server on the reference model."""
    port = _free_port()
    argv = [sys.executable, "-m", "tests.bench.bench_controller", "--serve", str(port)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        _switch_process(argv, port, Path(tmp) / "model.log") as address,
    ):
        yield address, PipelineFiles(P4INFO_PATH)


@contextlib.contextmanager
def bmv2_target() -> Iterator[tuple[str, PipelineFiles]]:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        argv = [
            "simple_switch_grpc", "--no-p4", "--device-id", "1", "--thrift-port", str(_free_port()),
            "--log-file", str(Path(tmp) / "bmv2"),
            "--", f"--grpc-server-addr=127.0.0.1:{port}", "--cpu-port=255",
        ]  # fmt: skip
        with _switch_process(argv, port, Path(tmp) / "bmv2.out") as address:
            yield address, PipelineFiles(P4INFO_PATH, BMV2_JSON_PATH)


@contextlib.contextmanager
def hdl_target() -> Iterator[tuple[str, PipelineFiles]]:
    """``twinrouter hdl-switch`` with no front port bound: tables only."""
    from sim.hdl_target.verilated_router import RouterBuild, build_binary

    port = _free_port()
    argv = [sys.executable, "-m", "controller.cli", "hdl-switch", "--grpc", f"127.0.0.1:{port}"]
    argv += ["--binary", str(build_binary(RouterBuild()))]
    with tempfile.TemporaryDirectory() as tmp, _switch_process(argv, port, Path(tmp) / "hdl.log") as address:
        yield address, PipelineFiles(P4INFO_PATH)


# --- raw gRPC ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def raw_primary(
    target: str, pipeline: PipelineFiles
) -> AsyncIterator[p4runtime_pb2_grpc.P4RuntimeStub]:
    channel = grpc.aio.insecure_channel(target)
    stub = p4runtime_pb2_grpc.P4RuntimeStub(channel)
    requests: asyncio.Queue[p4r.StreamMessageRequest | None] = asyncio.Queue()

    async def outgoing():
        while (message := await requests.get()) is not None:
            yield message

    stream = stub.StreamChannel(outgoing())
    arbitration = p4r.StreamMessageRequest()
    arbitration.arbitration.device_id = 1
    arbitration.arbitration.election_id.low = 20
    await requests.put(arbitration)
    await stream.read()
    config = p4r.SetForwardingPipelineConfigRequest(
        device_id=1, action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
    )
    config.election_id.low = 20
    config.config.p4info.CopyFrom(pipeline.load_p4info())
    if pipeline.device_config is not None:
        config.config.p4_device_config = pipeline.device_config.read_bytes()
    await stub.SetForwardingPipelineConfig(config)
    try:
        yield stub
    finally:
        await requests.put(None)
        stream.cancel()
        await channel.close()


async def raw_rate(target: str, pipeline: PipelineFiles, prefixes: list[IPv4Network], batch: int) -> float:
    codec = EntryCodec(pipeline.load_p4info())
    updates = [codec.update(Update(Op.INSERT, Table.IPV4_LPM, p, GATEWAY)) for p in prefixes]
    async with raw_primary(target, pipeline) as stub:
        await asyncio.sleep(SETTLE)
        start = time.perf_counter()
        for i in range(0, len(updates), batch):
            request = p4r.WriteRequest(device_id=1, updates=updates[i : i + batch])
            request.election_id.low = 20
            await stub.Write(request)
        return len(updates) / (time.perf_counter() - start)


@dataclass(frozen=True)
class ControllerRun:
    rate: float  # entries/s
    cpu_per_route: float  # seconds of this process's CPU per route, while installing


async def controller_rate(target: str, pipeline: PipelineFiles, prefixes: list[IPv4Network]) -> ControllerRun:
    session = P4RuntimeDataplane(target, pipeline)
    router = Router(CONFIG, AsyncioClock(), session)
    router.start()
    task = asyncio.create_task(session.run(router.handle_packet_in, on_synced=router.connected))
    try:
        await asyncio.wait_for(session.synced.wait(), 30)
        await session.written.wait()
        await asyncio.sleep(SETTLE)
        freeze_startup_objects()  # as twinrouter controller does once it has started
        offered = [Route(p, Source.OSPF, GATEWAY, 110) for p in prefixes]
        expected = len(session.installed) + len(prefixes)
        cpu, start = time.process_time(), time.perf_counter()
        router.update_routes(Source.OSPF, offered)
        await session.written.wait()  # every update acknowledged and recorded
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert not session.rejected and len(session.installed) == expected, session.rejected
        return ControllerRun(len(prefixes) / elapsed, cpu / len(prefixes))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def install_rates(target: Target) -> None:
    routes = target.routes
    batched, controller, cpu = [], [], []
    for _ in range(target.repeats):  # alternating, so that both see the same load
        with target.start() as (address, pipeline):
            batched.append(asyncio.run(raw_rate(address, pipeline, routes, BATCH)))
        with target.start() as (address, pipeline):
            run = asyncio.run(controller_rate(address, pipeline, routes))
            controller.append(run.rate)
            cpu.append(run.cpu_per_route)
    with target.start() as (address, pipeline):
        one_by_one = asyncio.run(raw_rate(address, pipeline, routes[: target.one_by_one], 1))
    name = target.name
    per_request = min(BATCH, len(routes))
    print(f"{name}: {len(routes):,} routes, {target.repeats} runs each (median, best), fresh target each run")
    print(f"{name:>6}  raw, {per_request:,} per WriteRequest  {_figures(batched)}")
    print(f"{name:>6}  controller code path        {_figures(controller)}")
    print(
        f"{name:>6}  raw, 1 per WriteRequest     {one_by_one:>8,.0f} entries/s ({target.one_by_one:,} routes, one run)"
    )
    ratios = sorted(c / b for c, b in zip(controller, batched, strict=True))
    print(
        f"{name:>6}  controller / raw batched = {statistics.median(ratios):.2f} "
        f"(median of {len(ratios)} pairs; {ratios[0]:.2f} to {ratios[-1]:.2f})"
    )
    print(f"{name:>6}  controller CPU per route: {statistics.median(cpu) * 1e6:.1f} us (median)")


def _figures(rates: list[float]) -> str:
    return f"{statistics.median(rates):>8,.0f} entries/s, best {max(rates):,.0f}"


# --- ARP resolution latency ------------------------------------------------------------


async def arp_latency(samples: int = 50) -> list[float]:
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import ARP, Ether

    from sim.p4rt_server.model_dataplane import ModelDataPlane
    from sim.p4rt_server.server import P4RuntimeServer

    dataplane = ModelDataPlane(num_ports=4)
    server = P4RuntimeServer(dataplane)
    port = await server.start("127.0.0.1:0")
    session = P4RuntimeDataplane(f"127.0.0.1:{port}", PipelineFiles(P4INFO_PATH))
    router = Router(CONFIG, AsyncioClock(), session)
    router.start()
    task = asyncio.create_task(session.run(router.handle_packet_in, on_synced=router.connected))
    latencies = []
    try:
        await asyncio.wait_for(session.synced.wait(), 30)
        for n in range(samples):
            neighbour_ip, neighbour_mac = f"10.0.2.{10 + n}", f"02:bb:00:00:00:{n:02x}"
            frame = bytes(
                Ether(dst="02:00:00:00:01:01", src="02:aa:00:00:00:01")
                / IP(src="10.0.1.10", dst=neighbour_ip)
                / ICMP()
            )
            start = time.perf_counter()
            dataplane.receive(1, frame)
            while True:
                out = Ether(await dataplane.egress[2].get())
                if out.haslayer(ARP) and out[ARP].pdst == neighbour_ip:
                    reply = Ether(dst=out.src, src=neighbour_mac) / ARP(
                        op=2, hwsrc=neighbour_mac, psrc=neighbour_ip, hwdst=out.src, pdst="10.0.2.1"
                    )
                    dataplane.receive(2, bytes(reply))
                elif out.haslayer(IP) and out[IP].dst == neighbour_ip:
                    latencies.append(time.perf_counter() - start)
                    break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await server.stop()
    return latencies


# --- entry points ---------------------------------------------------------------------------


def main() -> None:
    print("route installation rate")
    install_rates(Target("model", model_target, adjacent_routes(10_000), one_by_one=2_000))
    if shutil.which("simple_switch_grpc"):
        install_rates(Target("BMv2", bmv2_target, adjacent_routes(10_000), one_by_one=2_000))
    else:
        print("  BMv2  skipped: simple_switch_grpc is not on PATH")
    # The default HDL build's LPM holds 512 prefixes; the router's own take 6.
    install_rates(Target("HDL", hdl_target, spread_routes(500), one_by_one=200, repeats=3))
    latencies = asyncio.run(arp_latency())
    print(
        f"ARP resolution latency (model target, in-process, {len(latencies)} neighbours): "
        f"median {statistics.median(latencies) * 1e3:.2f} ms, max {max(latencies) * 1e3:.2f} ms"
    )


def serve(port: int) -> None:
    """Child process: our P4Runtime server on the reference model, until SIGTERM."""
    from sim.p4rt_server.model_dataplane import ModelDataPlane
    from sim.p4rt_server.server import P4RuntimeServer

    async def run() -> None:
        server = P4RuntimeServer(ModelDataPlane(num_ports=4))
        await server.start(f"127.0.0.1:{port}")
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await server.stop()

    asyncio.run(run())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        serve(int(sys.argv[2]))
    else:
        main()
