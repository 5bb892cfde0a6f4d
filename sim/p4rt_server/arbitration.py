"""Client arbitration (P4Runtime §5): the highest election ID is primary."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from finsy.proto.google.rpc import code_pb2, status_pb2
from finsy.proto.p4.v1 import p4runtime_pb2

from .errors import invalid, permission_denied

ElectionId = tuple[int, int]


@dataclass(eq=False)
class ClientStream:
    """One open StreamChannel and the messages waiting to go out on it."""

    ident: int
    election_id: ElectionId | None = None
    outbox: asyncio.Queue[p4runtime_pb2.StreamMessageResponse] = field(default_factory=asyncio.Queue)


def election_tuple(eid: p4runtime_pb2.Uint128) -> ElectionId:
    return (eid.high, eid.low)


class Arbiter:
    def __init__(self, device_id: int):
        self.device_id = device_id
        self.streams: dict[int, ClientStream] = {}
        self._ids = itertools.count(1)
        self._highest_ever: ElectionId | None = None

    def open(self) -> ClientStream:
        stream = ClientStream(next(self._ids))
        self.streams[stream.ident] = stream
        return stream

    def close(self, stream: ClientStream) -> None:
        was_primary = self.primary() is stream
        self.streams.pop(stream.ident, None)
        if was_primary:
            self._announce()

    def primary(self) -> ClientStream | None:
        candidates = [s for s in self.streams.values() if s.election_id is not None]
        return max(candidates, key=lambda s: s.election_id, default=None)  # type: ignore[arg-type,return-value]

    def update(self, stream: ClientStream, request: p4runtime_pb2.MasterArbitrationUpdate) -> None:
        if request.device_id != self.device_id:
            raise invalid(f"device_id {request.device_id} is not this device ({self.device_id})")
        if request.role.name:
            raise invalid("roles are not supported: use the default role")
        eid = election_tuple(request.election_id)
        for other in self.streams.values():
            if other is not stream and other.election_id == eid:
                raise invalid(f"election_id {eid} is already used by another client")
        stream.election_id = eid
        self._highest_ever = max(filter(None, (self._highest_ever, eid)))
        self._announce()

    def check_primary(self, device_id: int, election_id: p4runtime_pb2.Uint128) -> None:
        """Only the primary may change state (Write, SetForwardingPipelineConfig)."""
        if device_id != self.device_id:
            raise invalid(f"device_id {device_id} is not this device ({self.device_id})")
        primary = self.primary()
        if primary is None or primary.election_id != election_tuple(election_id):
            raise permission_denied("only the primary client may write (election_id is not the primary's)")

    def _announce(self) -> None:
        """Tell every client who is primary now (§5.4)."""
        primary = self.primary()
        for stream in self.streams.values():
            if stream.election_id is None:
                continue
            is_primary = stream is primary
            message = p4runtime_pb2.StreamMessageResponse()
            update = message.arbitration
            update.device_id = self.device_id
            high, low = primary.election_id if primary else self._highest_ever or (0, 0)  # type: ignore[misc]
            update.election_id.high, update.election_id.low = high, low
            update.status.CopyFrom(
                status_pb2.Status(
                    code=code_pb2.OK if is_primary else code_pb2.ALREADY_EXISTS,
                    message="is primary" if is_primary else "is not primary",
                )
            )
            stream.outbox.put_nowait(message)
