"""The P4Runtime session: a :class:`~controller.dataplane.Dataplane` on a real switch.

finsy's ``Switch`` runs the connection's life: it connects (gRPC backs off
between attempts), arbitrates for primary with our election id, pushes the
pipeline when the switch's cookie differs from ours (so a restarted switch
gets it again and a running one is left alone), and starts over when the
stream breaks. Each time we become primary, :meth:`P4RuntimeDataplane._on_ready`

1. reads our five tables back and reconciles: the difference between what
   the switch holds and the controller's intent is written (no duplicates,
   nothing stale, nothing rewritten that is already right);
2. then writes each later change set as one WriteRequest (change sets that
   arrive while a write is in flight are merged into the next one; more
   than MAX_UPDATES_PER_WRITE updates go as several, pipelined), and moves
   packet-ins to the router and packet-outs to the switch.

Table entries are encoded straight to protobuf by :class:`EntryCodec`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc
from finsy import P4CounterEntry, P4PacketOut, P4TableEntry, Switch, SwitchOptions
from finsy.p4client import P4ClientError
from finsy.proto.p4.config.v1 import p4info_pb2
from finsy.proto.p4.v1 import p4runtime_pb2 as p4r
from google.protobuf import text_format

from .dataplane import EventCounters
from .intent import ChangeSet, Entries, EntryKey, EntryValue, Op, Table, Update, apply_changes, plan_changes
from .p4rt_codec import EntryCodec

log = logging.getLogger(__name__)

#: Updates per WriteRequest at most. A larger change set is split into requests of this size with
#: up to WRITES_IN_FLIGHT outstanding: the switch applies one while the next waits, already sent.
#: More than two make BMv2 work on several at once, which is slower (2 in flight: about 1.2 times
#: the rate of 4, and of 1, in paired runs of tests/bench/bench_controller.py).
MAX_UPDATES_PER_WRITE = 1_000
WRITES_IN_FLIGHT = 2
PACKET_QUEUE = 1024
COUNTERS = ("ingress.rx_port", "egress.tx_port", "ingress.drops", "ingress.punts")

T = TypeVar("T")
PacketInHandler = Callable[[int, int, bytes], None]
EntriesHook = Callable[[Entries], None]


@dataclass(frozen=True)
class PipelineFiles:
    """What to push: the P4Info, and the target's device config (BMv2's JSON) if it takes one."""

    p4info: Path
    device_config: Path | None = None  # None: a fixed-function target (the HDL one) takes the P4Info only

    def load_p4info(self) -> p4info_pb2.P4Info:
        return text_format.Parse(self.p4info.read_text(), p4info_pb2.P4Info())


def _chunks(items: Iterable[T], size: int = MAX_UPDATES_PER_WRITE) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class P4RuntimeDataplane:
    def __init__(
        self,
        target: str,
        pipeline: PipelineFiles,
        *,
        device_id: int = 1,
        election_id: int = 10,
        name: str = "router",
    ):
        self.target = target
        self.codec = EntryCodec(pipeline.load_p4info())
        # An empty device config still makes finsy push (and cookie-check) the P4Info.
        blob = pipeline.device_config if pipeline.device_config is not None else b""
        options = SwitchOptions(
            p4info=pipeline.p4info,
            p4blob=blob,
            device_id=device_id,
            initial_election_id=election_id,
            ready_handler=self._on_ready,
        )
        self.switch = Switch(name, target, options)
        self.desired: Entries = {}
        self.installed: Entries = {}  # what we believe the switch holds, as of the last write
        self.rejected: dict[EntryKey, str] = {}  # refused by the switch; retried when the intent changes
        self.counters = EventCounters()
        self.synced = asyncio.Event()  # set once reconciled, cleared when the session drops
        #: Set while every change made so far has been written (or refused: see ``rejected``).
        self.written = asyncio.Event()
        self._pending: dict[EntryKey, EntryValue | None] = {}  # changes not written yet, latest per entry
        self._wake = asyncio.Event()
        self._packets_out: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue(PACKET_QUEUE)
        self._on_packet_in: PacketInHandler = lambda port, reason, frame: None
        self._on_first_read: EntriesHook | None = None
        self._on_synced: Callable[[], None] | None = None
        self._write_rpc: grpc.aio.UnaryUnaryMultiCallable | None = None

    # --- the Dataplane protocol --------------------------------------------------

    def send_packet(self, port: int, frame: bytes) -> None:
        if not self.synced.is_set():
            self.counters["packet_out_dropped_not_connected"] += 1
            return
        try:
            self._packets_out.put_nowait((port, frame))
        except asyncio.QueueFull:
            self.counters["packet_out_dropped_queue_full"] += 1

    def change(self, changes: ChangeSet) -> None:
        apply_changes(self.desired, changes)
        self._pending.update(changes)
        self.written.clear()
        if self.rejected:
            for key in changes:
                self.rejected.pop(key, None)
        self._wake.set()

    # --- running -----------------------------------------------------------------

    async def run(
        self,
        on_packet_in: PacketInHandler,
        on_first_read: EntriesHook | None = None,
        on_synced: Callable[[], None] | None = None,
    ) -> None:
        """Keep a session with the switch until cancelled.

        ``on_first_read`` sees the entries found on the switch the first time
        they are read, before reconciling, so a restarted controller can adopt
        state (neighbours) instead of deleting and relearning it. ``on_synced``
        runs after every reconcile, when packet-outs go through again.
        """
        self._on_packet_in = on_packet_in
        self._on_first_read = on_first_read
        self._on_synced = on_synced
        await self.switch.run()

    async def _on_ready(self, switch: Switch) -> None:
        if not switch.is_primary:
            log.warning("%s: another controller is primary; waiting as backup", self.target)
            return
        # Writes go on a channel of their own, as pre-serialized requests: see p4rt_codec.
        channel = grpc.aio.insecure_channel(self.target)
        self._write_rpc = channel.unary_unary(
            "/p4.v1.P4Runtime/Write", response_deserializer=p4r.WriteResponse.FromString
        )
        try:
            await self.reconcile()
            self.synced.set()
            if self._on_synced is not None:
                self._on_synced()
            await asyncio.gather(self._write_loop(), self._packet_in_loop(), self._packet_out_loop())
        finally:
            self.synced.clear()
            self.written.clear()
            self._write_rpc = None
            await channel.close()

    async def reconcile(self) -> None:
        """Read our tables back and write exactly the difference from the intent."""
        actual = await self.read_entries()
        if self._on_first_read is not None:
            hook, self._on_first_read = self._on_first_read, None
            hook(actual)
        self.installed = actual
        self._pending.clear()
        written = await self._write(
            {key: self.desired.get(key) for key in actual.keys() | self.desired.keys()}
        )
        self.counters["reconciles"] += 1
        self.counters["reconcile_updates"] += written
        if written:
            log.info("%s: reconciled, %d entries written", self.target, written)
        if not self._pending:
            self.written.set()

    async def read_entries(self) -> Entries:
        entries: Entries = {}
        requests = [P4TableEntry(table.value) for table in Table]
        schema = self.switch.p4info
        async for entity in self.switch.read(requests):
            decoded = self.codec.decode(entity.encode_entry(schema))
            if decoded is not None:
                entries[decoded[0]] = decoded[1]
        return entries

    async def read_counters(self) -> dict[str, dict[int, tuple[int, int]]]:
        """Every cell of the four counters: name -> index -> (packets, bytes)."""
        cells: dict[str, dict[int, tuple[int, int]]] = {name: {} for name in COUNTERS}
        counters = self.switch.p4info.counters
        async for entry in self.switch.read([P4CounterEntry(name) for name in COUNTERS]):
            if entry.index is not None:
                name = counters[entry.counter_id].name  # finsy answers with the P4Info alias
                cells[name][entry.index] = (entry.packet_count, entry.byte_count)
        return cells

    # --- the loops while primary ------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            changes, self._pending = self._pending, {}
            await self._write(changes)
            if not self._pending:
                self.written.set()

    async def _write(self, changes: ChangeSet) -> int:
        """Bring the switch to ``changes``, record it in ``installed``; returns the number of updates written.

        Deletes go first, on their own, so that the space they free is there
        for the inserts. The rest is planned one request's worth at a time as
        the requests go out, up to WRITES_IN_FLIGHT outstanding, so the switch
        works on one while the next is planned and encoded. If the connection
        drops half way, this raises and nothing is recorded: the session
        starts over, and reconciling reads back what the switch holds.
        """
        installed = self.installed  # changes only in _record, once every request is answered
        refused: list[tuple[Update, str]] = []
        deletes = plan_changes(installed, [(key, value) for key, value in changes.items() if value is None])
        for batch in _chunks(deletes):
            refused += await self._write_batch(batch)
        written = len(deletes)
        in_flight: set[asyncio.Task[list[tuple[Update, str]]]] = set()
        try:
            for items in _chunks((key, value) for key, value in changes.items() if value is not None):
                batch = plan_changes(installed, items)
                if not batch:
                    continue
                if len(in_flight) >= WRITES_IN_FLIGHT:
                    done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        refused += task.result()
                in_flight.add(asyncio.ensure_future(self._write_batch(batch)))
                written += len(batch)
                await asyncio.sleep(0)  # let it encode and go out before the next is planned
            for task in asyncio.as_completed(in_flight):
                refused += await task
        finally:
            for task in in_flight:
                task.cancel()
        self._record(changes, refused, freed={u.table for u in deletes})
        return written

    async def _write_batch(self, batch: list[Update]) -> list[tuple[Update, str]]:
        """One WriteRequest; returns the updates the switch refused, with its reasons."""
        assert self._write_rpc is not None
        request = self.codec.write_request(
            self.switch.device_id, self.switch.election_id, [self.codec.update_bytes(u) for u in batch]
        )
        refused = []
        try:
            await self._write_rpc(request)
        except grpc.aio.AioRpcError as rpc_error:
            error = P4ClientError(rpc_error, "Write")
            if not error.details:
                raise  # the request as a whole failed (connection lost): the session restarts
            refused = [(batch[i], f"{d.canonical_code.name}: {d.message}") for i, d in error.details.items()]
        self.counters["writes"] += 1
        self.counters["updates_written"] += len(batch)
        return refused

    def _record(self, changes: ChangeSet, refused: list[tuple[Update, str]], freed: set[Table]) -> None:
        """``installed`` takes ``changes``, except what the switch refused; refusals are kept to report."""
        kept = {u.entry_key: self.installed.get(u.entry_key) for u, _ in refused}
        apply_changes(self.installed, changes)  # one dict merge, however many entries
        for update, why in refused:
            key = update.entry_key
            if update.op is Op.DELETE:
                continue  # NOT_FOUND: it is gone either way
            if kept[key] is None:
                self.installed.pop(key, None)
            else:
                self.installed[key] = kept[key]  # type: ignore[assignment]
            self.rejected[key] = why
            self.counters["updates_rejected"] += 1
            log.error("%s: %s %s %s refused: %s", self.target, update.op.value, key[0].value, key[1], why)
        # A delete may have made room in a full table: try its refused entries once more.
        retry = [key for key in self.rejected if key[0] in freed and key not in kept]
        for key in retry:
            del self.rejected[key]
        if retry:
            self._pending.update({key: self.desired.get(key) for key in retry})
            self._wake.set()

    async def _packet_in_loop(self) -> None:
        async for packet in self.switch.read_packets(queue_size=PACKET_QUEUE):
            self.counters["packet_in"] += 1
            try:
                self._on_packet_in(int(packet["ingress_port"]), int(packet["reason"]), packet.payload)
            except Exception:  # a bug must not take the session down with it
                self.counters["packet_in_handler_errors"] += 1
                log.exception("packet-in handler failed on %r", packet)

    async def _packet_out_loop(self) -> None:
        while True:
            port, frame = await self._packets_out.get()
            await self.switch.write([P4PacketOut(frame, egress_port=port)])
            self.counters["packet_out"] += 1
