"""The gRPC P4Runtime service (P4Runtime spec v1.3) in front of a :class:`DataPlane`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import grpc
from finsy.proto.google.rpc import code_pb2, status_pb2
from finsy.proto.p4.config.v1 import p4info_pb2
from finsy.proto.p4.v1 import p4runtime_pb2, p4runtime_pb2_grpc

from .arbitration import Arbiter, ClientStream
from .dataplane import DataPlane
from .entities import TableEntry, decode_value, encode_value, parse_action, parse_key, to_proto
from .errors import P4RuntimeError, invalid, precondition, unimplemented
from .schema import P4Schema
from .store import EntryStore
from .surface import compare

log = logging.getLogger(__name__)

API_VERSION = "1.3.0"
READ_BATCH = 1000  # entities per ReadResponse


class P4RuntimeServer(p4runtime_pb2_grpc.P4RuntimeServicer):
    """Serves one device. Only the primary client may write; packet-ins go to the primary."""

    def __init__(self, dataplane: DataPlane, device_id: int = 1):
        self.dataplane = dataplane
        self.arbiter = Arbiter(device_id)
        self.store = EntryStore(dataplane.surface, dataplane)
        self.schema: P4Schema | None = None
        self.config: p4runtime_pb2.ForwardingPipelineConfig | None = None
        self._saved: tuple[P4Schema, p4runtime_pb2.ForwardingPipelineConfig] | None = None
        self._server: grpc.aio.Server | None = None
        self._pump: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------------

    async def start(self, address: str = "127.0.0.1:9559") -> int:
        """Listen on ``address``; returns the bound port (useful with port 0)."""
        self._server = grpc.aio.server()
        p4runtime_pb2_grpc.add_P4RuntimeServicer_to_server(self, self._server)
        port = self._server.add_insecure_port(address)
        if port == 0:
            raise OSError(f"cannot listen on {address}")
        await self._server.start()
        self._pump = asyncio.create_task(self._pump_packet_ins(), name="packet-in pump")
        log.info("P4Runtime server listening on %s", address.rsplit(":", 1)[0] + f":{port}")
        return port

    async def stop(self) -> None:
        if self._pump:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if self._server:
            await self._server.stop(grace=0.5)

    # --- RPCs -----------------------------------------------------------------

    async def Capabilities(self, request, context):
        return p4runtime_pb2.CapabilitiesResponse(p4runtime_api_version=API_VERSION)

    async def SetForwardingPipelineConfig(self, request, context):
        try:
            self.arbiter.check_primary(request.device_id, request.election_id)
            await self._set_pipeline(request)
        except P4RuntimeError as exc:
            await context.abort(exc.code, exc.message)
        return p4runtime_pb2.SetForwardingPipelineConfigResponse()

    async def GetForwardingPipelineConfig(self, request, context):
        if request.device_id != self.arbiter.device_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown device_id {request.device_id}")
        response = p4runtime_pb2.GetForwardingPipelineConfigResponse()
        if self.config is None:
            return response  # no pipeline yet: an empty config
        kind = p4runtime_pb2.GetForwardingPipelineConfigRequest
        response.config.cookie.CopyFrom(self.config.cookie)
        if request.response_type in (kind.ALL, kind.P4INFO_AND_COOKIE):
            response.config.p4info.CopyFrom(self.config.p4info)
        if request.response_type in (kind.ALL, kind.DEVICE_CONFIG_AND_COOKIE):
            response.config.p4_device_config = self.config.p4_device_config
        return response

    async def Write(self, request, context):
        try:
            self.arbiter.check_primary(request.device_id, request.election_id)
            schema = self._require_pipeline()
            if request.atomicity != p4runtime_pb2.WriteRequest.CONTINUE_ON_ERROR:
                raise unimplemented("only CONTINUE_ON_ERROR atomicity is supported")
        except P4RuntimeError as exc:
            await context.abort(exc.code, exc.message)
        async with self._write_lock:
            errors = [await self._apply(schema, update) for update in request.updates]
        if any(e is not None for e in errors):
            await _abort_with_update_errors(context, errors)
        return p4runtime_pb2.WriteResponse()

    async def Read(self, request, context) -> AsyncIterator[p4runtime_pb2.ReadResponse]:
        try:
            if request.device_id != self.arbiter.device_id:
                raise invalid(f"unknown device_id {request.device_id}")
            schema = self._require_pipeline()
            entities = [e for entity in request.entities for e in await self._read(schema, entity)]
        except P4RuntimeError as exc:
            await context.abort(exc.code, exc.message)
        for start in range(0, max(len(entities), 1), READ_BATCH):
            yield p4runtime_pb2.ReadResponse(entities=entities[start : start + READ_BATCH])

    async def StreamChannel(self, request_iterator, context):
        stream = self.arbiter.open()
        reader = asyncio.create_task(self._read_stream(stream, request_iterator))
        try:
            while True:
                message = await stream.outbox.get()
                if message is None:  # the client closed its side
                    break
                if isinstance(message, P4RuntimeError):
                    await context.abort(message.code, message.message)
                yield message
        finally:
            reader.cancel()
            self.arbiter.close(stream)

    # --- pipeline config --------------------------------------------------------

    async def _set_pipeline(self, request: p4runtime_pb2.SetForwardingPipelineConfigRequest) -> None:
        action = p4runtime_pb2.SetForwardingPipelineConfigRequest
        if request.action == action.COMMIT:
            if self._saved is None:
                raise precondition("COMMIT without a saved config (use VERIFY_AND_SAVE first)")
            schema, config = self._saved
            await self._commit(schema, config, keep_state=False)
            return
        schema = self._verify(request.config)
        if request.action == action.VERIFY:
            return
        if request.action == action.VERIFY_AND_SAVE:
            self._saved = (schema, request.config)
        elif request.action == action.VERIFY_AND_COMMIT:
            await self._commit(schema, request.config, keep_state=False)
        elif request.action == action.RECONCILE_AND_COMMIT:
            # The hardware pipeline is fixed, so an accepted P4Info can keep every entry.
            await self._commit(schema, request.config, keep_state=self.schema is not None)
        else:
            raise invalid(f"unsupported action {request.action}")

    def _verify(self, config: p4runtime_pb2.ForwardingPipelineConfig) -> P4Schema:
        if not config.HasField("p4info"):
            raise invalid("config has no p4info")
        problems = compare(self.dataplane.surface, config.p4info)
        if problems:
            raise invalid("P4Info does not match this hardware: " + "; ".join(problems))
        return P4Schema(config.p4info, self.dataplane.surface)

    async def _commit(self, schema: P4Schema, config, *, keep_state: bool) -> None:
        async with self._write_lock:
            if not keep_state:
                await self.store.clear()
            self.schema = schema
            self.config = p4runtime_pb2.ForwardingPipelineConfig()
            self.config.CopyFrom(config)
            self.config.p4info.CopyFrom(_with_real_sizes(config.p4info, self.dataplane))
        log.info("pipeline committed (%s state)", "kept" if keep_state else "fresh")

    def _require_pipeline(self) -> P4Schema:
        if self.schema is None:
            raise precondition("no forwarding pipeline config has been set")
        return self.schema

    # --- Write -----------------------------------------------------------------

    async def _apply(self, schema: P4Schema, update: p4runtime_pb2.Update) -> P4RuntimeError | None:
        try:
            kind = update.entity.WhichOneof("entity")
            if kind != "table_entry":
                raise unimplemented(f"writing {kind} entities is not supported")
            await self._apply_table_entry(schema, update.type, update.entity.table_entry)
        except P4RuntimeError as exc:
            log.debug("update refused: %s", exc)
            return exc
        return None

    async def _apply_table_entry(self, schema: P4Schema, op: int, pb: p4runtime_pb2.TableEntry) -> None:
        table = schema.tables.get(pb.table_id)
        if table is None:
            raise invalid(f"unknown table id {pb.table_id}")
        if pb.priority:
            raise invalid(f"{table.spec.name}: priority must be 0 (no ternary or range fields)")
        if pb.HasField("counter_data") or pb.HasField("meter_config") or pb.idle_timeout_ns:
            raise invalid(f"{table.spec.name}: has no direct counters, meters or idle timeout")
        Update = p4runtime_pb2.Update
        if pb.is_default_action:
            if op != Update.MODIFY:
                raise invalid(f"{table.spec.name}: the default entry can only be modified")
            if pb.match:
                raise invalid(f"{table.spec.name}: the default entry has no match fields")
            action = parse_action(schema, table, pb.action, default=True) if pb.HasField("action") else None
            await self.store.set_default(table.spec.name, action)
            return
        key = parse_key(schema, table, list(pb.match))
        if op == Update.DELETE:
            # Only the key identifies the entry to delete; any action given is ignored.
            await self.store.delete(table.spec.name, key)
            return
        entry = TableEntry(table.spec.name, key, parse_action(schema, table, pb.action, default=False))
        if op == Update.INSERT:
            await self.store.insert(entry)
        elif op == Update.MODIFY:
            await self.store.modify(entry)
        else:
            raise invalid(f"unknown update type {op}")

    # --- Read ------------------------------------------------------------------

    async def _read(self, schema: P4Schema, entity: p4runtime_pb2.Entity) -> list[p4runtime_pb2.Entity]:
        kind = entity.WhichOneof("entity")
        if kind == "table_entry":
            return [
                p4runtime_pb2.Entity(table_entry=e) for e in self._read_tables(schema, entity.table_entry)
            ]
        if kind == "counter_entry":
            return [
                p4runtime_pb2.Entity(counter_entry=e)
                for e in await self._read_counters(schema, entity.counter_entry)
            ]
        raise unimplemented(f"reading {kind} entities is not supported")

    def _read_tables(
        self, schema: P4Schema, want: p4runtime_pb2.TableEntry
    ) -> list[p4runtime_pb2.TableEntry]:
        if want.table_id == 0:
            if want.match or want.is_default_action:
                raise invalid("a wildcard table read cannot filter on match fields")
            tables = list(schema.tables.values())
        elif want.table_id in schema.tables:
            tables = [schema.tables[want.table_id]]
        else:
            raise invalid(f"unknown table id {want.table_id}")
        out: list[p4runtime_pb2.TableEntry] = []
        for table in tables:
            name = table.spec.name
            if want.is_default_action:
                default = TableEntry(name, (), self.store.defaults[name])
                out.append(to_proto(schema, default, default=True))
                continue
            entries = self.store.entries[name]
            if want.match:
                key = parse_key(schema, table, list(want.match))
                selected = [entries[key]] if key in entries else []
            else:
                selected = list(entries.values())
            out.extend(to_proto(schema, e) for e in selected)
        return out

    async def _read_counters(
        self, schema: P4Schema, want: p4runtime_pb2.CounterEntry
    ) -> list[p4runtime_pb2.CounterEntry]:
        if want.counter_id == 0:
            counters = list(schema.counters.items())
        elif want.counter_id in schema.counters:
            counters = [(want.counter_id, schema.counters[want.counter_id])]
        else:
            raise invalid(f"unknown counter id {want.counter_id}")
        out = []
        for cid, (name, size) in counters:
            if want.HasField("index"):
                if not 0 <= want.index.index < size:
                    raise invalid(f"{name}: index {want.index.index} not in 0..{size - 1}")
                indexes: range | list[int] = [want.index.index]
            else:
                indexes = range(size)
            cells = await self.dataplane.read_counters(name)
            for index in indexes:
                packets, octets = cells.get(index, (0, 0))
                entry = p4runtime_pb2.CounterEntry(counter_id=cid)
                entry.index.index = index
                entry.data.packet_count, entry.data.byte_count = packets, octets
                out.append(entry)
        return out

    # --- stream channel ------------------------------------------------------------

    async def _read_stream(self, stream: ClientStream, requests) -> None:
        try:
            async for request in requests:
                kind = request.WhichOneof("update")
                if kind == "arbitration":
                    try:
                        self.arbiter.update(stream, request.arbitration)
                    except P4RuntimeError as exc:
                        stream.outbox.put_nowait(exc)
                        return
                elif kind == "packet":
                    await self._packet_out(stream, request.packet)
                else:
                    _stream_error(stream, code_pb2.UNIMPLEMENTED, f"{kind} messages are not supported")
        finally:
            stream.outbox.put_nowait(None)

    async def _packet_out(self, stream: ClientStream, packet: p4runtime_pb2.PacketOut) -> None:
        def refuse(code: int, message: str) -> None:
            _stream_error(stream, code, message, packet_out=packet)

        if self.arbiter.primary() is not stream:
            return refuse(code_pb2.PERMISSION_DENIED, "only the primary client may send packets")
        if self.schema is None:
            return refuse(code_pb2.FAILED_PRECONDITION, "no forwarding pipeline config has been set")
        try:
            header = _encode_metadata(self.schema.packet_metadata["packet_out"], packet.metadata)
        except P4RuntimeError as exc:
            return refuse(exc.code.value[0], exc.message)
        await self.dataplane.inject_cpu_frame(header + packet.payload)
        return None

    async def _pump_packet_ins(self) -> None:
        while True:
            frame = await self.dataplane.next_cpu_frame()
            primary = self.arbiter.primary()
            if self.schema is None or primary is None:
                log.debug("packet-in dropped: no pipeline or no primary client")
                continue
            fields = self.schema.packet_metadata["packet_in"]
            header_len = sum(width for _, _, width in fields) // 8
            if len(frame) < header_len:
                log.warning("runt frame of %d bytes from the CPU port ignored", len(frame))
                continue
            message = p4runtime_pb2.StreamMessageResponse()
            message.packet.payload = frame[header_len:]
            value = int.from_bytes(frame[:header_len], "big")
            shift = header_len * 8
            for fid, _name, width in fields:
                shift -= width
                field_value = (value >> shift) & ((1 << width) - 1)
                message.packet.metadata.add(metadata_id=fid, value=encode_value(field_value))
            primary.outbox.put_nowait(message)


def _encode_metadata(fields: list[tuple[int, str, int]], metadata) -> bytes:
    values: dict[int, int] = {}
    widths = {fid: (name, width) for fid, name, width in fields}
    for item in metadata:
        if item.metadata_id not in widths:
            raise invalid(f"packet_out: unknown metadata id {item.metadata_id}")
        name, width = widths[item.metadata_id]
        values[item.metadata_id] = decode_value(item.value, width, f"packet_out.{name}")
    missing = [name for fid, name, _ in fields if fid not in values]
    if missing:
        raise invalid(f"packet_out: missing metadata {', '.join(missing)}")
    header = 0
    total = 0
    for fid, _name, width in fields:
        header = (header << width) | values[fid]
        total += width
    return header.to_bytes(total // 8, "big")


def _stream_error(stream: ClientStream, code: int, message: str, packet_out=None) -> None:
    response = p4runtime_pb2.StreamMessageResponse()
    response.error.canonical_code = code
    response.error.message = message
    if packet_out is not None:
        response.error.packet_out.packet_out.CopyFrom(packet_out)
    stream.outbox.put_nowait(response)


def _with_real_sizes(p4info: p4info_pb2.P4Info, dataplane: DataPlane) -> p4info_pb2.P4Info:
    """The P4Info as this target serves it back: table sizes are the real capacities."""
    served = p4info_pb2.P4Info()
    served.CopyFrom(p4info)
    for table in served.tables:
        table.size = dataplane.surface.table(table.preamble.name).capacity
    return served


async def _abort_with_update_errors(context, errors: list[P4RuntimeError | None]) -> None:
    """One p4.v1.Error per update, in order, in the status details (§12.3)."""
    status = status_pb2.Status(code=code_pb2.UNKNOWN, message="one or more updates failed")
    for error in errors:
        detail = p4runtime_pb2.Error()
        if error is None:
            detail.canonical_code = code_pb2.OK
        else:
            detail.canonical_code = error.code.value[0]
            detail.message = error.message
        status.details.add().Pack(detail)
    await context.abort(
        grpc.StatusCode.UNKNOWN,
        status.message,
        trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
    )
