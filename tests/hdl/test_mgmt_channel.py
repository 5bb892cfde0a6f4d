"""The management channel in the Amaranth simulator, spoken to with the host library's own frames."""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In
from amaranth.sim import Simulator

from hdl.mgmt import MgmtSignature
from hdl.mgmt_channel import MgmtChannel
from sim.hdl_target.mgmt_protocol import (
    ETHERTYPE_MGMT,
    DeviceInfo,
    Message,
    Opcode,
    Status,
    decode_words,
    read_request,
    write_request,
)
from tests.hdl.simlib import assert_rejected, recv_frame, send_frame

DEVICE_MAC = 0x02_00_00_00_00_99
HOST_MAC = bytes.fromhex("02aabbccdd01")
INFO = DeviceInfo(num_ports=4, datapath_bytes=8, capacities={"ingress.arp": 1024}).encode()
REGISTERS = 64  # words 0..63 answer; anything above never acknowledges


class RegisterFile(wiring.Component):
    """A bus subordinate for the test: ``REGISTERS`` words, acknowledged after ``delay`` cycles."""

    def __init__(self, delay: int):
        self.delay = delay
        super().__init__({"bus": In(MgmtSignature(16))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = Memory(shape=32, depth=REGISTERS, init=[])
        rd, wr = mem.read_port(domain="comb"), mem.write_port()
        wait = Signal(range(self.delay + 2))
        bus = self.bus
        mapped = bus.adr < REGISTERS
        m.d.comb += [rd.addr.eq(bus.adr), wr.addr.eq(bus.adr), wr.data.eq(bus.dat_w)]
        m.d.sync += bus.ack.eq(0)
        with m.If(bus.stb & ~bus.ack & mapped):
            m.d.sync += wait.eq(wait + 1)
            with m.If(wait == self.delay):
                m.d.sync += [wait.eq(0), bus.ack.eq(1), bus.dat_r.eq(rd.data)]
                m.d.comb += wr.en.eq(bus.we)
        return m


class Dut(wiring.Component):
    def __init__(self, delay: int):
        super().__init__({})
        self.channel = MgmtChannel(
            addr_width=16, device_mac=DEVICE_MAC, info=INFO, max_words=8, packet_in_bytes=128, bus_timeout=50
        )
        self.registers = RegisterFile(delay)

    def elaborate(self, platform):
        m = Module()
        m.submodules.channel = self.channel
        m.submodules.registers = self.registers
        wiring.connect(m, self.channel.bus, self.registers.bus)
        return m


def mgmt_frame(message: Message, ethertype: int = ETHERTYPE_MGMT, pad_to: int = 0) -> bytes:
    frame = DEVICE_MAC.to_bytes(6, "big") + HOST_MAC + ethertype.to_bytes(2, "big") + message.encode()
    return frame.ljust(pad_to, b"\x00")


def decode(frame: bytes) -> Message:
    assert frame[0:6] == HOST_MAC, "answers go back to the requester"
    assert frame[6:12] == DEVICE_MAC.to_bytes(6, "big")
    assert int.from_bytes(frame[12:14], "big") == ETHERTYPE_MGMT
    message = Message.decode(frame[14:])
    assert len(frame) == 22 + len(message.body), "no bytes beyond the body"
    return message


def simulate(testbench, delay: int = 1, seed: int = 0) -> None:
    dut = Dut(delay)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    rng = random.Random(seed)

    async def bench(ctx):
        await testbench(ctx, dut.channel, rng)

    sim.add_testbench(bench)
    sim.run()


async def exchange(ctx, channel, rng, frame: bytes) -> Message:
    """Send one request (with idle cycles) and take the answer (with backpressure)."""
    await send_frame(ctx, channel.rx, frame, 1, rng, idle=0.3)
    return decode(await recv_frame(ctx, channel.tx, 1, rng, stall=0.3))


@pytest.mark.parametrize("delay", [0, 3])
def test_write_then_read_back_and_info(delay):
    async def bench(ctx, channel, rng):
        words = [0xDEADBEEF, 0x01234567, 0x0, 0xFFFFFFFF, 0x80000001]
        reply = await exchange(ctx, channel, rng, mgmt_frame(write_request(7, 10, words)))
        assert (reply.opcode, reply.sequence, reply.status) == (Opcode.WRITE, 7, Status.OK)
        assert reply.body == (10).to_bytes(4, "big") + len(words).to_bytes(2, "big")
        reply = await exchange(ctx, channel, rng, mgmt_frame(read_request(8, 9, 7), pad_to=60))
        assert (reply.opcode, reply.sequence, reply.status) == (Opcode.READ, 8, Status.OK)
        assert decode_words(reply.body) == (9, [0, *words, 0])
        reply = await exchange(ctx, channel, rng, mgmt_frame(Message(Opcode.INFO, 9)))
        assert DeviceInfo.decode(reply.body) == DeviceInfo.decode(INFO)

    simulate(bench, delay=delay, seed=delay)


def test_every_bad_request_gets_an_error_answer():
    cases = [
        (Message(Opcode.READ, 1, body=b"\x00\x00\x00\x01\x00\x00"), Status.MALFORMED),  # count 0
        (Message(Opcode.READ, 2, body=b"\x00\x00\x00\x01\x00\x09"), Status.TOO_LONG),  # > max_words
        (Message(Opcode.READ, 3, body=b"\x00\x00"), Status.MALFORMED),  # ends inside addr/count
        (
            Message(Opcode.WRITE, 4, body=b"\x00\x00\x00\x01\x00\x02" + b"\x00" * 4),
            Status.MALFORMED,
        ),  # 1 of 2 words
        (Message(Opcode.READ, 5, body=b"\x00\x00\x01\x00\x00\x01"), Status.BUS_ERROR),  # nobody answers
        (Message(0x7E, 6), Status.BAD_OPCODE),
        (Message(Opcode.PACKET_OUT, 7), Status.MALFORMED),  # empty packet
    ]

    async def bench(ctx, channel, rng):
        for message, status in cases:
            reply = await exchange(ctx, channel, rng, mgmt_frame(message))
            assert (reply.opcode, reply.sequence, reply.status) == (message.opcode, message.sequence, status)
        bad_version = bytearray(mgmt_frame(Message(Opcode.INFO, 8)))
        bad_version[14] = 9
        reply = await exchange(ctx, channel, rng, bytes(bad_version))
        assert (reply.sequence, reply.status) == (8, Status.BAD_VERSION)
        # Still serving after all that.
        reply = await exchange(ctx, channel, rng, mgmt_frame(Message(Opcode.INFO, 10)))
        assert reply.status == Status.OK

    simulate(bench)


def test_frames_that_are_not_requests_are_counted_and_not_answered():
    async def bench(ctx, channel, rng):
        await send_frame(ctx, channel.rx, mgmt_frame(Message(Opcode.INFO, 1), ethertype=0x0800), 1)
        await send_frame(ctx, channel.rx, mgmt_frame(Message(Opcode.INFO, 2))[:20], 1)  # runt
        reply = await exchange(ctx, channel, rng, mgmt_frame(Message(Opcode.INFO, 3)))
        assert reply.sequence == 3, "the first answer is to the first real request"
        assert ctx.get(channel.frames_ignored) == 2

    simulate(bench)


def test_packet_out_goes_to_the_cpu_port_whole_or_truncated():
    packet = bytes(range(2, 80))

    async def bench(ctx, channel, rng):
        ctx.set(channel.cpu_out.ready, 1)
        forwarded: list[bytes] = []
        replies: list[Message] = []
        for sequence, cut in [(1, None), (2, 30)]:
            wire = mgmt_frame(Message(Opcode.PACKET_OUT, sequence, body=packet))
            if cut is not None:  # the frame ends inside the body the length field promised
                wire = wire[: 22 + cut]
            frame = bytearray()
            # The channel forwards while it receives: drive rx by hand, watch cpu_out.
            for index, byte in enumerate(wire):
                beat = {"data": byte, "keep": 1, "first": index == 0, "last": index == len(wire) - 1}
                ctx.set(channel.rx.payload, beat)
                ctx.set(channel.rx.valid, 1)
                while True:
                    _, _, ready, out_valid, out = await ctx.tick().sample(
                        channel.rx.ready, channel.cpu_out.valid, channel.cpu_out.payload
                    )
                    if out_valid:
                        assert out.first == (len(frame) == 0)
                        frame.append(out.data)
                    if ready:
                        break
            ctx.set(channel.rx.valid, 0)
            forwarded.append(bytes(frame))
            replies.append(decode(await recv_frame(ctx, channel.tx, 1)))
        assert forwarded == [packet, packet[:30]]
        assert [(r.sequence, r.status) for r in replies] == [(1, Status.OK), (2, Status.MALFORMED)]

    simulate(bench)


def test_cpu_frames_come_out_as_packet_ins_to_the_last_host_seen():
    async def bench(ctx, channel, rng):
        # A request first, so the channel learns the host's MAC.
        await exchange(ctx, channel, rng, mgmt_frame(Message(Opcode.INFO, 1)))
        sent = [bytes([n]) * (20 + n) for n in range(1, 4)] + [b"\x55" * 200]  # the last is too long
        for frame in sent:
            await send_frame(ctx, channel.cpu_in, frame, 1, rng, idle=0.2)
            if len(frame) <= 128:
                reply = decode(await recv_frame(ctx, channel.tx, 1, rng, stall=0.3))
                assert reply.opcode == Opcode.PACKET_IN
                assert reply.body == frame
        assert ctx.get(channel.packet_ins_dropped) == 1

    simulate(bench)


def test_parameters_are_checked():
    assert_rejected(lambda: MgmtChannel(addr_width=16, device_mac=1 << 48, info=b"x"), "device_mac")
    assert_rejected(lambda: MgmtChannel(addr_width=16, device_mac=1, info=b""), "info")
    assert_rejected(lambda: MgmtChannel(addr_width=16, device_mac=1, info=b"x", max_words=0), "max_words")
    assert_rejected(
        lambda: MgmtChannel(addr_width=16, device_mac=1, info=b"x", packet_in_bytes=8), "packet_in_bytes"
    )
