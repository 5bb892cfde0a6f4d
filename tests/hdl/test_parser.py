"""The parser against the reference model: every early verdict, header field and payload byte."""

from __future__ import annotations

import random
from ipaddress import IPv4Address

import pytest
from amaranth.sim import Simulator

from hdl.parser import OVERSIZE_DROP, EarlyVerdict, Parser
from sim.model import CPU_PORT, Drop, DropReason, Forward, Punt, PuntReason, ReferencePipeline
from sim.model.codes import ETHERTYPE_ARP
from tests.hdl.frames import FrameMaker, example_tables
from tests.hdl.simlib import assert_rejected, recv_frame, send_frame

#: Drop reasons the parser decides on its own (NOT_ROUTABLE_L2 only for ARP).
PARSER_DROPS = {
    DropReason.BAD_PACKET_OUT_PORT,
    DropReason.TRUNCATED,
    DropReason.NOT_FOR_US,
    DropReason.UNSUPPORTED_ETHERTYPE,
    DropReason.IPV4_VERSION,
    DropReason.IPV4_IHL,
    DropReason.IPV4_LENGTH,
    DropReason.IPV4_CHECKSUM,
    DropReason.MARTIAN_SOURCE,
}


def expected_verdict(model: ReferencePipeline, frame: bytes, port: int) -> tuple[EarlyVerdict, int]:
    outcome = model.decide(frame, port)
    is_arp = frame[12:14] == ETHERTYPE_ARP.to_bytes(2, "big")
    if isinstance(outcome, Drop) and (
        outcome.reason in PARSER_DROPS or (outcome.reason == DropReason.NOT_ROUTABLE_L2 and is_arp)
    ):
        return EarlyVerdict.DROP, outcome.reason
    if isinstance(outcome, Punt) and outcome.reason == PuntReason.ARP:
        return EarlyVerdict.PUNT_ARP, 0
    if isinstance(outcome, Forward) and port == CPU_PORT:
        return EarlyVerdict.PACKET_OUT, outcome.port
    return EarlyVerdict.LOOKUP, 0


def run_parser(width: int, port: int, frames: list[bytes], max_frame: int = 2048, seed: int = 0):
    tables = example_tables(4)
    dut = Parser(width=width, num_ports=tables.num_ports, max_frame=max_frame, cpu=port == CPU_PORT)
    headers, payloads = [], []
    rng = random.Random(seed)

    async def source(ctx):
        mac = tables.router_mac(port) if port != CPU_PORT else None
        ctx.set(dut.router_mac, mac.value if mac else 0)
        ctx.set(dut.router_mac_valid, mac is not None)
        for frame in frames:
            await send_frame(ctx, dut.i, frame, width, rng, idle=0.2)

    async def header_sink(ctx):
        for _ in frames:
            ctx.set(dut.header.ready, 1)
            (header,) = await ctx.tick().sample(dut.header.payload).until(dut.header.valid)
            headers.append(header)

    async def payload_sink(ctx):
        for _ in frames:
            payloads.append(await recv_frame(ctx, dut.payload, width, rng, stall=0.3))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(header_sink)
    sim.add_testbench(payload_sink)
    sim.run()
    return tables, headers, payloads


@pytest.mark.parametrize("width", [1, 4, 8])
def test_front_parser_matches_model(width):
    maker = FrameMaker(example_tables(4), random.Random(width), garbage=0.5, max_payload=40)
    frames = [maker.frame(1) for _ in range(120 if width > 1 else 40)]
    tables, headers, payloads = run_parser(width, 1, frames)
    model = ReferencePipeline(tables)
    assert payloads == frames
    for frame, header in zip(frames, headers, strict=True):
        verdict, reason = expected_verdict(model, frame, 1)
        assert (header.verdict, header.length) == (verdict, len(frame)), frame.hex()
        if verdict == EarlyVerdict.DROP:
            assert header.drop == reason, frame.hex()
        if verdict == EarlyVerdict.LOOKUP:
            dst = IPv4Address(frame[30:34])
            assert header.dst == int(dst) and header.ttl == frame[22]
            assert header.checksum == int.from_bytes(frame[24:26], "big")
            assert header.routable_l2 == (frame[0:6] == tables.router_mac(1).packed)
            assert header.multicast == dst.is_multicast


@pytest.mark.parametrize("width", [1, 8])
def test_cpu_parser_matches_model(width):
    maker = FrameMaker(example_tables(4), random.Random(width), max_payload=20)
    frames = [maker.frame(CPU_PORT) for _ in range(30)] + [b"", b"\x00", b"\x00\x01"]
    tables, headers, payloads = run_parser(width, CPU_PORT, frames)
    model = ReferencePipeline(tables)
    assert payloads == frames
    for frame, header in zip(frames, headers, strict=True):
        verdict, value = expected_verdict(model, frame, CPU_PORT)
        assert header.verdict == verdict, frame.hex()
        assert (header.drop if verdict == EarlyVerdict.DROP else header.egress) == value


def test_oversize_frames_are_cut_and_flagged():
    frames = [bytes(100), bytes(64), bytes(101)]
    _, headers, payloads = run_parser(8, 1, frames, max_frame=100)
    assert [h.length for h in headers] == [100, 64, 101]
    assert headers[2].verdict == EarlyVerdict.DROP and headers[2].drop == OVERSIZE_DROP
    assert headers[0].drop != OVERSIZE_DROP
    assert payloads[:2] == frames[:2] and len(payloads[2]) <= 101


def test_parameters_are_checked():
    assert_rejected(lambda: Parser(width=3, num_ports=4, max_frame=1518), "width")
    assert_rejected(lambda: Parser(width=4, num_ports=4, max_frame=10), "max_frame")
