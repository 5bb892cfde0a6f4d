"""Controller benchmarks: route installation rate, and ARP resolution latency.

Route installation: 10,000 /24 routes into a fresh P4Runtime target, three
ways in the same run: raw gRPC WriteRequests of 1,000 updates each, raw
WriteRequests of one update each (what p4runtime-shell does), and through
the controller's own code path (``Router.update_routes`` -> RIB -> change
set -> ``P4RuntimeDataplane``), timed until the switch has acknowledged
every entry. Targets: our P4Runtime server with the reference model as
data plane (in a separate process), and BMv2 when ``simple_switch_grpc`` is
on PATH.

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
from collections.abc import AsyncIterator
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
from sim.model import NextHop
from sim.p4build import BMV2_JSON_PATH, P4INFO_PATH

ROUTES = 10_000
ONE_BY_ONE = 2_000  # fewer: one request per entry is slow
BATCH = 1_000
CONFIG = parse_config(
    """
router_id = "1.1.1.1"
[[interface]]
name = "eth1"
port = 1
mac = "02:00:00:00:01:01"
address = "10.0.1.1/24"
[[interface]]
name = "eth2"
port = 2
mac = "02:00:00:00:02:01"
address = "10.0.2.1/24"
""",
    "bench.toml",
)
GATEWAY = NextHop(IPv4Address("10.0.2.254"), 2)


def routes(count: int, offset: int = 0) -> list[IPv4Network]:
    return [IPv4Network(((0x64000000 + ((offset + i) << 8)), 24)) for i in range(count)]


# --- targets -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def model_target():
    """Our P4Runtime server on the reference model, in its own process."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_controller", "--serve", str(port)])
    try:
        _wait_for_port(port)
        yield f"127.0.0.1:{port}", PipelineFiles(P4INFO_PATH)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


@contextlib.contextmanager
def bmv2_target():
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "bmv2.log"
        command = [
            "simple_switch_grpc", "--no-p4", "--device-id", "1", "--thrift-port", str(_free_port()), "--log-file", str(log),
            "--", f"--grpc-server-addr=127.0.0.1:{port}", "--cpu-port=255",
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(port)
            yield f"127.0.0.1:{port}", PipelineFiles(P4INFO_PATH, BMV2_JSON_PATH)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(10)


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


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


async def raw_rate(target: str, pipeline: PipelineFiles, count: int, batch: int) -> float:
    codec = EntryCodec(pipeline.load_p4info())
    updates = [codec.update(Update(Op.INSERT, Table.IPV4_LPM, p, GATEWAY)) for p in routes(count)]
    async with raw_primary(target, pipeline) as stub:
        start = time.perf_counter()
        for i in range(0, count, batch):
            request = p4r.WriteRequest(device_id=1, updates=updates[i : i + batch])
            request.election_id.low = 20
            await stub.Write(request)
        return count / (time.perf_counter() - start)


async def controller_rate(target: str, pipeline: PipelineFiles, count: int) -> float:
    session = P4RuntimeDataplane(target, pipeline)
    router = Router(CONFIG, AsyncioClock(), session)
    router.start()
    task = asyncio.create_task(session.run(router.handle_packet_in, on_synced=router.connected))
    try:
        await asyncio.wait_for(session.synced.wait(), 30)
        while session.installed != session.desired:
            await asyncio.sleep(0.01)
        offered = [Route(p, Source.OSPF, GATEWAY, 110) for p in routes(count)]
        before = session.counters["updates_written"]
        start = time.perf_counter()
        router.update_routes(Source.OSPF, offered)
        while session.counters["updates_written"] - before < count:
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - start
        assert not session.rejected, session.rejected
        return count / elapsed
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def install_rates(name: str, target_factory) -> None:
    figures = {}
    with target_factory() as (target, pipeline):
        figures["raw, 1,000 per WriteRequest"] = asyncio.run(raw_rate(target, pipeline, ROUTES, BATCH))
    with target_factory() as (target, pipeline):
        figures["raw, 1 per WriteRequest"] = asyncio.run(raw_rate(target, pipeline, ONE_BY_ONE, 1))
    with target_factory() as (target, pipeline):
        figures["controller code path"] = asyncio.run(controller_rate(target, pipeline, ROUTES))
    for label, rate in figures.items():
        print(f"{name:>12}  {label:<30} {rate:>10,.0f} entries/s")
    ratio = figures["controller code path"] / figures["raw, 1,000 per WriteRequest"]
    print(f"{name:>12}  controller / raw batched = {ratio:.2f}")


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
    print(f"route installation, {ROUTES:,} routes ({ONE_BY_ONE:,} one by one), fresh target each time")
    install_rates("model", model_target)
    if shutil.which("simple_switch_grpc"):
        install_rates("BMv2", bmv2_target)
    else:
        print("        BMv2  skipped: simple_switch_grpc is not on PATH")
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
