"""BMv2's own way for test frames to reach the switch's ports and come back.

Veths (:class:`sim.p4rt_harness.wiring.VethPorts`) are the real thing, but
Linux cannot carry a frame shorter than an Ethernet header on one, so
:class:`GrpcPorts` uses ``simple_switch_grpc --dp-grpc-server-addr`` instead, whose
``p4.bm.DataplaneInterface`` stream hands the switch any non-empty byte
string on any port (the CPU port included) and returns what it transmits.
"""

from __future__ import annotations

import asyncio

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def _dataplane_messages() -> tuple[type, type]:
    """PacketStreamRequest/Response of behavioral-model's services/p4/bm/dataplane_interface.proto.

    Built from a descriptor here (four fields each) rather than generated, so
    no protoc output of BMv2's is needed.
    """
    proto = descriptor_pb2.FileDescriptorProto(
        name="twinrouter/bmv2_dataplane_interface.proto", package="p4.bm", syntax="proto3"
    )
    fields = (("id", 1, "UINT64"), ("device_id", 2, "UINT64"), ("port", 3, "UINT32"), ("packet", 4, "BYTES"))
    for name in ("PacketStreamRequest", "PacketStreamResponse"):
        message = proto.message_type.add(name=name)
        for field_name, number, kind in fields:
            message.field.add(
                name=field_name,
                number=number,
                type=getattr(descriptor_pb2.FieldDescriptorProto, f"TYPE_{kind}"),
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
            )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return (
        message_factory.GetMessageClass(pool.FindMessageTypeByName("p4.bm.PacketStreamRequest")),
        message_factory.GetMessageClass(pool.FindMessageTypeByName("p4.bm.PacketStreamResponse")),
    )


_REQUEST, _RESPONSE = _dataplane_messages()
_PACKET_STREAM = "/p4.bm.DataplaneInterface/PacketStream"


class GrpcPorts:
    """The switch's dataplane gRPC stream: frames in on any port, transmitted frames back."""

    def __init__(self, address: str, device_id: int, num_ports: int) -> None:
        self._device_id = device_id
        self.received: dict[int, asyncio.Queue[bytes]] = {
            port: asyncio.Queue() for port in range(1, num_ports + 1)
        }
        self._channel = grpc.aio.insecure_channel(address)
        self._outbox: asyncio.Queue[object] = asyncio.Queue()
        call = self._channel.stream_stream(
            _PACKET_STREAM,
            request_serializer=_REQUEST.SerializeToString,
            response_deserializer=_RESPONSE.FromString,
        )
        self._stream = call(self._requests())
        self._reader = asyncio.create_task(self._read())

    async def _requests(self):  # type: ignore[no-untyped-def]
        while True:
            yield await self._outbox.get()

    async def _read(self) -> None:
        async for response in self._stream:
            self.received.setdefault(response.port, asyncio.Queue()).put_nowait(response.packet)

    def send(self, port: int, frame: bytes) -> None:
        if not frame:
            raise ValueError("the dataplane gRPC service ignores empty frames")
        if self._reader.done():
            # The stream ended (the switch refused or closed it): say so rather than lose the frame.
            error = self._reader.exception() if not self._reader.cancelled() else None
            raise ConnectionError(f"the dataplane gRPC stream is closed: {error or 'cancelled'}")
        self._outbox.put_nowait(_REQUEST(device_id=self._device_id, port=port, packet=frame))

    async def close(self) -> None:
        self._reader.cancel()
        self._stream.cancel()
        await self._channel.close()
