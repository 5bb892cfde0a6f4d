"""Host side of the management channel: async reads, writes and CPU-port packets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from .mgmt_protocol import (
    ETHERTYPE_MGMT,
    MAX_WORDS,
    DeviceInfo,
    Message,
    MgmtProtocolError,
    Opcode,
    Status,
    decode_words,
    read_request,
    write_request,
)

log = logging.getLogger(__name__)


class FrameLink(Protocol):
    """Carries whole Ethernet frames to and from the device's management port."""

    async def send(self, frame: bytes) -> None: ...

    async def recv(self) -> bytes: ...


class MgmtError(Exception):
    """The device answered a request with an error status, or never answered."""

    def __init__(self, opcode: int, status: Status | None, message: str):
        super().__init__(message)
        self.opcode = opcode
        self.status = status


class MgmtClient:
    """Talks to one device. Requests are serialized (one outstanding at a time,
    matching the single-initiator management bus) and retried on timeout."""

    def __init__(
        self,
        link: FrameLink,
        host_mac: bytes = b"\x02\x00\x00\x00\xff\x01",
        device_mac: bytes = b"\xff" * 6,
        timeout: float = 0.5,
        retries: int = 3,
    ):
        self.link = link
        self.header = device_mac + host_mac + ETHERTYPE_MGMT.to_bytes(2, "big")
        self.timeout = timeout
        self.retries = retries
        self.packet_ins: asyncio.Queue[bytes] = asyncio.Queue()
        self.stats = {"malformed": 0, "stale": 0, "retries": 0, "packet_in_gaps": 0}
        self._sequence = 0
        self._lock = asyncio.Lock()
        self._pending: tuple[int, asyncio.Future[Message]] | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._last_packet_in: int | None = None

    async def __aenter__(self) -> MgmtClient:
        self._receiver = asyncio.create_task(self._receive_loop(), name="mgmt receiver")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._receiver:
            self._receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiver

    # --- operations -----------------------------------------------------------

    async def read(self, addr: int, count: int = 1) -> list[int]:
        words: list[int] = []
        for start in range(0, count, MAX_WORDS):
            n = min(MAX_WORDS, count - start)
            reply = await self._request(lambda seq, a=addr + start, n=n: read_request(seq, a, n))
            _, chunk = decode_words(reply.body)
            words.extend(chunk)
        return words

    async def write(self, addr: int, words: list[int]) -> None:
        for start in range(0, len(words), MAX_WORDS):
            chunk = words[start : start + MAX_WORDS]
            await self._request(lambda seq, a=addr + start, c=chunk: write_request(seq, a, c))

    async def info(self) -> DeviceInfo:
        reply = await self._request(lambda seq: Message(Opcode.INFO, seq))
        return DeviceInfo.decode(reply.body)

    async def packet_out(self, cpu_frame: bytes) -> None:
        """Send ``packet_out`` header + frame into the pipeline's CPU port."""
        await self._request(lambda seq: Message(Opcode.PACKET_OUT, seq, body=cpu_frame))

    # --- machinery --------------------------------------------------------------

    async def _request(self, build) -> Message:
        async with self._lock:
            self._sequence = (self._sequence + 1) & 0xFFFF
            request = build(self._sequence)
            future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
            self._pending = (self._sequence, future)
            try:
                for attempt in range(self.retries + 1):
                    await self.link.send(self.header + request.encode())
                    try:
                        reply = await asyncio.wait_for(asyncio.shield(future), self.timeout)
                        break
                    except TimeoutError:
                        self.stats["retries"] += 1
                        log.debug(
                            "management request %d timed out (attempt %d)", request.sequence, attempt + 1
                        )
                else:
                    raise MgmtError(
                        request.opcode,
                        None,
                        f"no answer to {Opcode(request.opcode).name} after {self.retries + 1} tries",
                    )
            finally:
                self._pending = None
        if reply.status != Status.OK:
            status = Status(reply.status) if reply.status in Status._value2member_map_ else None
            name = status.name if status else f"status {reply.status}"
            raise MgmtError(request.opcode, status, f"{Opcode(request.opcode).name} refused: {name}")
        return reply

    async def _receive_loop(self) -> None:
        while True:
            frame = await self.link.recv()
            if len(frame) < 14 or int.from_bytes(frame[12:14], "big") != ETHERTYPE_MGMT:
                continue
            try:
                message = Message.decode(frame[14:])
            except MgmtProtocolError as exc:
                self.stats["malformed"] += 1
                log.warning("malformed management frame: %s", exc)
                continue
            if message.opcode == Opcode.PACKET_IN:
                self._note_packet_in(message.sequence)
                self.packet_ins.put_nowait(message.body)
            elif self._pending and self._pending[0] == message.sequence and not self._pending[1].done():
                self._pending[1].set_result(message)
            else:
                self.stats["stale"] += 1  # a late answer to a request already retried

    def _note_packet_in(self, sequence: int) -> None:
        if self._last_packet_in is not None and sequence != (self._last_packet_in + 1) & 0xFFFF:
            self.stats["packet_in_gaps"] += 1
        self._last_packet_in = sequence
