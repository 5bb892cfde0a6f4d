"""The P4Runtime server, driven with raw gRPC stubs against the reference model as data plane.

Each P4Runtime error the issue names is triggered by a real request here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest
from finsy.proto.google.rpc import code_pb2, status_pb2
from finsy.proto.p4.config.v1 import p4info_pb2
from finsy.proto.p4.v1 import p4runtime_pb2 as pb
from finsy.proto.p4.v1 import p4runtime_pb2_grpc
from scapy.layers.l2 import ARP, Ether

from sim.model.codes import CPU_PORT, PuntReason
from sim.p4build import P4INFO_PATH, load_p4info
from sim.p4rt_server.model_dataplane import ModelDataPlane
from sim.p4rt_server.server import P4RuntimeServer
from sim.p4rt_server.surface import compare, router_surface
from tests.needs import needs_p4info

pytestmark = needs_p4info
P4INFO = load_p4info() if P4INFO_PATH.exists() else p4info_pb2.P4Info()
IDS = {
    p.preamble.name: p.preamble.id
    for kind in ("tables", "actions", "counters")
    for p in getattr(P4INFO, kind)
}


def test_hardware_surface_agrees_with_committed_p4info():
    assert compare(router_surface(), P4INFO) == []


class Client:
    """A bare P4Runtime client: one channel, one stream, explicit messages."""

    def __init__(self, port: int, election: int):
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.stub = p4runtime_pb2_grpc.P4RuntimeStub(self.channel)
        self.election = election
        self.requests: asyncio.Queue[pb.StreamMessageRequest | None] = asyncio.Queue()
        self.stream = self.stub.StreamChannel(self._requests())

    async def _requests(self) -> AsyncIterator[pb.StreamMessageRequest]:
        while (message := await self.requests.get()) is not None:
            yield message

    async def arbitrate(self) -> pb.MasterArbitrationUpdate:
        request = pb.StreamMessageRequest()
        request.arbitration.device_id = 1
        request.arbitration.election_id.low = self.election
        await self.requests.put(request)
        return (await self.next("arbitration")).arbitration

    async def next(self, kind: str) -> pb.StreamMessageResponse:
        while True:
            message = await asyncio.wait_for(self.stream.read(), 5)
            if message.WhichOneof("update") == kind:
                return message

    async def push_pipeline(self, p4info: p4info_pb2.P4Info = P4INFO) -> None:
        request = pb.SetForwardingPipelineConfigRequest(
            device_id=1, action=pb.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
        )
        request.election_id.low = self.election
        request.config.p4info.CopyFrom(p4info)
        await self.stub.SetForwardingPipelineConfig(request)

    async def write(self, *updates: pb.Update) -> None:
        request = pb.WriteRequest(device_id=1, updates=updates)
        request.election_id.low = self.election
        await self.stub.Write(request)

    async def read(self, *entities: pb.Entity) -> list[pb.Entity]:
        out = []
        async for response in self.stub.Read(pb.ReadRequest(device_id=1, entities=entities)):
            out.extend(response.entities)
        return out

    async def close(self) -> None:
        await self.requests.put(None)
        self.stream.cancel()
        await self.channel.close()


def entry(
    table: str, match: list[pb.FieldMatch], action: str | None = None, **params: bytes
) -> pb.TableEntry:
    out = pb.TableEntry(table_id=IDS[table], match=match)
    if action:
        out.action.action.action_id = IDS[action]
        declared = {p.name: p.id for a in P4INFO.actions if a.preamble.name == action for p in a.params}
        for name, value in params.items():
            out.action.action.params.add(param_id=declared[name], value=value)
    return out


def exact(value: bytes, field_id: int = 1) -> pb.FieldMatch:
    return pb.FieldMatch(field_id=field_id, exact=pb.FieldMatch.Exact(value=value))


def lpm(value: bytes, prefix_len: int) -> pb.FieldMatch:
    return pb.FieldMatch(field_id=1, lpm=pb.FieldMatch.LPM(value=value, prefix_len=prefix_len))


def update(kind: int, table_entry: pb.TableEntry) -> pb.Update:
    return pb.Update(type=kind, entity=pb.Entity(table_entry=table_entry))


INSERT, MODIFY, DELETE = pb.Update.INSERT, pb.Update.MODIFY, pb.Update.DELETE
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


@contextlib.asynccontextmanager
async def switch(capacities: dict[str, int] | None = None) -> AsyncIterator[tuple[ModelDataPlane, int]]:
    dataplane = ModelDataPlane(surface=router_surface(capacities))
    server = P4RuntimeServer(dataplane)
    port = await server.start("127.0.0.1:0")
    try:
        yield dataplane, port
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def primary(port: int, election: int = 10) -> AsyncIterator[Client]:
    client = Client(port, election)
    try:
        update = await client.arbitrate()
        assert update.status.code == code_pb2.OK
        yield client
    finally:
        await client.close()


def run(coro) -> None:
    asyncio.run(coro)


def update_errors(error: grpc.aio.AioRpcError) -> list[tuple[int, str]]:
    """The per-update p4.v1.Error list a failed Write carries in its status details."""
    raw = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(raw)
    details = []
    for any_detail in status.details:
        detail = pb.Error()
        any_detail.Unpack(detail)
        details.append((detail.canonical_code, detail.message))
    return details


# --- arbitration ------------------------------------------------------------------


def test_highest_election_id_is_primary_and_only_primary_writes():
    async def scenario():
        async with switch() as (_, port), primary(port, election=10) as first:
            await first.push_pipeline()
            second = Client(port, election=5)
            try:
                backup = await second.arbitrate()
                assert backup.status.code == code_pb2.ALREADY_EXISTS
                assert backup.election_id.low == 10
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await second.write(
                        update(
                            INSERT,
                            entry("ingress.local_ip", [exact(b"\x0a\x00\x00\x01")], "ingress.deliver_local"),
                        )
                    )
                assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            finally:
                await second.close()

    run(scenario())


def test_backup_is_told_when_it_becomes_primary():
    async def scenario():
        async with switch() as (_, port):
            first = Client(port, election=10)
            await first.arbitrate()
            second = Client(port, election=5)
            try:
                assert (await second.arbitrate()).status.code == code_pb2.ALREADY_EXISTS
                await first.close()
                promoted = (await second.next("arbitration")).arbitration
                assert promoted.status.code == code_pb2.OK
                assert promoted.election_id.low == 5
            finally:
                await second.close()

    run(scenario())


def test_duplicate_election_id_is_refused():
    async def scenario():
        async with switch() as (_, port), primary(port, election=7):
            twin = Client(port, election=7)
            try:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await twin.arbitrate()
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            finally:
                await twin.close()

    run(scenario())


# --- pipeline config ----------------------------------------------------------------


def test_write_before_pipeline_is_failed_precondition():
    async def scenario():
        async with switch() as (_, port), primary(port) as client:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await client.write(
                    update(
                        INSERT,
                        entry("ingress.local_ip", [exact(b"\x0a\x00\x00\x01")], "ingress.deliver_local"),
                    )
                )
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    run(scenario())


def test_p4info_that_does_not_match_the_hardware_is_refused_with_the_difference():
    async def scenario():
        wrong = p4info_pb2.P4Info()
        wrong.CopyFrom(P4INFO)
        lpm_table = next(t for t in wrong.tables if t.preamble.name == "ingress.ipv4_lpm")
        lpm_table.match_fields[0].bitwidth = 128
        async with switch() as (_, port), primary(port) as client:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await client.push_pipeline(wrong)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "ingress.ipv4_lpm" in refused.value.details()
            assert "128" in refused.value.details()

    run(scenario())


def test_get_pipeline_serves_the_real_capacities():
    async def scenario():
        async with switch({"ingress.ipv4_lpm": 1000}) as (_, port), primary(port) as client:
            await client.push_pipeline()
            request = pb.GetForwardingPipelineConfigRequest(
                device_id=1, response_type=pb.GetForwardingPipelineConfigRequest.P4INFO_AND_COOKIE
            )
            response = await client.stub.GetForwardingPipelineConfig(request)
            sizes = {t.preamble.name: t.size for t in response.config.p4info.tables}
            assert sizes["ingress.ipv4_lpm"] == 1000
            assert sizes["ingress.arp"] == next(
                t.size for t in P4INFO.tables if t.preamble.name == "ingress.arp"
            )

    run(scenario())


# --- Write / Read ---------------------------------------------------------------------


def test_insert_read_modify_delete_in_every_table():
    tables = [
        entry("ingress.router_mac", [exact(b"\x01")], "ingress.set_router_mac", mac=MAC_A),
        entry("egress.port_mac", [exact(b"\x01")], "egress.set_src_mac", mac=MAC_A),
        entry("ingress.local_ip", [exact(b"\x0a\x00\x01\x01")], "ingress.deliver_local"),
        entry(
            "ingress.ipv4_lpm",
            [lpm(b"\x0a\x00\x02\x00", 24)],
            "ingress.set_nexthop",
            nhop_ip=b"\x0a\x00\x01\x02",
            port=b"\x01",
        ),
        entry("ingress.arp", [exact(b"\x0a\x00\x01\x02")], "ingress.set_dmac", mac=MAC_B),
    ]

    async def scenario():
        async with switch() as (dataplane, port), primary(port) as client:
            await client.push_pipeline()
            await client.write(*(update(INSERT, e) for e in tables))
            everything = await client.read(pb.Entity(table_entry=pb.TableEntry()))
            assert sorted(e.table_entry.SerializeToString(deterministic=True) for e in everything) == sorted(
                t.SerializeToString(deterministic=True) for t in tables
            )
            state = dataplane.table_state()
            assert str(state.neighbours[next(iter(state.neighbours))]) == "02:00:00:00:00:02"
            changed = entry("ingress.arp", [exact(b"\x0a\x00\x01\x02")], "ingress.set_dmac", mac=MAC_A)
            await client.write(update(MODIFY, changed))
            (read_back,) = await client.read(
                pb.Entity(table_entry=pb.TableEntry(table_id=IDS["ingress.arp"]))
            )
            assert read_back.table_entry == changed
            await client.write(*(update(DELETE, e) for e in tables))
            assert await client.read(pb.Entity(table_entry=pb.TableEntry())) == []
            assert dataplane.table_state().routes == {}

    run(scenario())


def test_non_canonical_values_are_the_same_key_and_read_back_canonical():
    async def scenario():
        async with switch() as (_, port), primary(port) as client:
            await client.push_pipeline()
            # 00:00:00:00:00:01 given zero-padded to the field's width, as older clients send it.
            padded = entry(
                "ingress.router_mac", [exact(b"\x00\x03")], "ingress.set_router_mac", mac=bytes(5) + b"\x01"
            )
            await client.write(update(INSERT, padded))
            canonical = entry("ingress.router_mac", [exact(b"\x03")], "ingress.set_router_mac", mac=MAC_A)
            with pytest.raises(grpc.aio.AioRpcError) as duplicate:
                await client.write(update(INSERT, canonical))
            assert update_errors(duplicate.value) == [
                (code_pb2.ALREADY_EXISTS, "ingress.router_mac: an entry with this key exists")
            ]
            (read_back,) = await client.read(
                pb.Entity(table_entry=pb.TableEntry(table_id=IDS["ingress.router_mac"]))
            )
            assert read_back.table_entry.match[0].exact.value == b"\x03"
            assert read_back.table_entry.action.action.params[0].value == b"\x01"

    run(scenario())


def test_each_error_code_comes_back_per_update_in_order():
    good = entry("ingress.local_ip", [exact(b"\x0a\x00\x00\x01")], "ingress.deliver_local")
    cases = [
        (update(INSERT, good), code_pb2.OK),
        (update(INSERT, good), code_pb2.ALREADY_EXISTS),
        (
            update(MODIFY, entry("ingress.local_ip", [exact(b"\x0a\x00\x00\x09")], "ingress.deliver_local")),
            code_pb2.NOT_FOUND,
        ),
        (update(DELETE, entry("ingress.local_ip", [exact(b"\x0a\x00\x00\x09")])), code_pb2.NOT_FOUND),
        (update(INSERT, pb.TableEntry(table_id=12345)), code_pb2.INVALID_ARGUMENT),
        (
            update(INSERT, entry("ingress.ipv4_lpm", [lpm(b"\x0a\x00\x02\x01", 24)], "ingress.drop")),
            code_pb2.INVALID_ARGUMENT,
        ),
        (
            update(INSERT, entry("ingress.ipv4_lpm", [lpm(b"\x0a\x00\x00\x00", 8)], "ingress.no_route")),
            code_pb2.INVALID_ARGUMENT,
        ),
        (
            update(
                INSERT, entry("ingress.router_mac", [exact(b"\x02\x00")], "ingress.set_router_mac", mac=MAC_A)
            ),
            code_pb2.OUT_OF_RANGE,
        ),
        (
            update(INSERT, entry("ingress.arp", [exact(b"\x0a\x00\x00\x05")], "ingress.set_dmac")),
            code_pb2.INVALID_ARGUMENT,
        ),
        (update(INSERT, entry("ingress.local_ip", [], "ingress.deliver_local")), code_pb2.INVALID_ARGUMENT),
        (
            update(INSERT, entry("ingress.local_ip", [exact(b"\x0a\x00\x00\x02")], "ingress.deliver_local")),
            code_pb2.OK,
        ),
        (
            update(INSERT, entry("ingress.local_ip", [exact(b"\x0a\x00\x00\x03")], "ingress.deliver_local")),
            code_pb2.RESOURCE_EXHAUSTED,
        ),
    ]

    async def scenario():
        async with switch({"ingress.local_ip": 2}) as (_, port), primary(port) as client:
            await client.push_pipeline()
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await client.write(*(u for u, _ in cases))
            assert failed.value.code() == grpc.StatusCode.UNKNOWN
            got = [code for code, _ in update_errors(failed.value)]
            assert got == [code for _, code in cases]

    run(scenario())


def test_default_action_can_be_read_and_reset():
    async def scenario():
        async with switch() as (_, port), primary(port) as client:
            await client.push_pipeline()
            (default,) = await client.read(
                pb.Entity(table_entry=pb.TableEntry(table_id=IDS["ingress.ipv4_lpm"], is_default_action=True))
            )
            assert default.table_entry.action.action.action_id == IDS["ingress.no_route"]
            reset = pb.TableEntry(table_id=IDS["ingress.ipv4_lpm"], is_default_action=True)
            await client.write(update(MODIFY, reset))
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await client.write(update(INSERT, reset))
            assert update_errors(refused.value)[0][0] == code_pb2.INVALID_ARGUMENT

    run(scenario())


# --- packet I/O and counters -------------------------------------------------------------


def test_packet_in_carries_ingress_port_and_reason_and_packet_out_reaches_the_port():
    async def scenario():
        async with switch() as (dataplane, port), primary(port) as client:
            await client.push_pipeline()
            arp = bytes(
                Ether(dst="ff:ff:ff:ff:ff:ff", src="02:00:00:00:aa:01")
                / ARP(pdst="10.0.0.1", psrc="10.0.0.2")
            )
            dataplane.receive(3, arp)
            packet = (await client.next("packet")).packet
            packet_in = next(h for h in P4INFO.controller_packet_metadata if h.preamble.name == "packet_in")
            names = {m.id: m.name for m in packet_in.metadata}
            metadata = {names[m.metadata_id]: int.from_bytes(m.value, "big") for m in packet.metadata}
            assert metadata == {"ingress_port": 3, "reason": PuntReason.ARP}
            assert packet.payload == arp

            out = pb.StreamMessageRequest()
            out.packet.payload = arp
            out.packet.metadata.add(metadata_id=1, value=b"\x02")
            await client.requests.put(out)
            assert await asyncio.wait_for(dataplane.egress[2].get(), 5) == arp

            out.packet.metadata[0].value = bytes([CPU_PORT])
            await client.requests.put(out)
            await asyncio.sleep(0.2)
            (rx,) = await client.read(
                pb.Entity(
                    counter_entry=pb.CounterEntry(
                        counter_id=IDS["ingress.rx_port"], index=pb.Index(index=CPU_PORT)
                    )
                )
            )
            assert rx.counter_entry.data.packet_count == 2
            drops = await client.read(
                pb.Entity(counter_entry=pb.CounterEntry(counter_id=IDS["ingress.drops"]))
            )
            assert sum(d.counter_entry.data.packet_count for d in drops) == 1

    run(scenario())


def test_packet_out_with_missing_metadata_is_a_stream_error():
    async def scenario():
        async with switch() as (_, port), primary(port) as client:
            await client.push_pipeline()
            out = pb.StreamMessageRequest()
            out.packet.payload = b"\x00" * 20
            await client.requests.put(out)
            error = (await client.next("error")).error
            assert error.canonical_code == code_pb2.INVALID_ARGUMENT
            assert "egress_port" in error.message

    run(scenario())
