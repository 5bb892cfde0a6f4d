"""A small asyncio P4Runtime client for any target running the router's P4Info, on finsy.

It becomes primary, pushes the pipeline (the P4Info, with BMv2's JSON or an
empty device config for the HDL target, whose pipeline is fixed), writes
table state, reads the counters back as the model's
:class:`~sim.model.outcome.Counters`, and does packet I/O on the CPU port
(packet-out in, packet-in out).
"""

from __future__ import annotations

import asyncio
import logging
from enum import IntEnum
from pathlib import Path
from types import TracebackType

from finsy import P4CounterEntry, P4PacketIn, P4PacketOut, Switch, SwitchOptions

from sim.model.codes import PACKET_OUT_HEADER_LEN, DropReason, PuntReason
from sim.model.outcome import Counters, CounterValue, Punt
from sim.model.tables import TableState
from sim.p4rt_tables import table_entries

LOG = logging.getLogger(__name__)

RX_PORT = "ingress.rx_port"
TX_PORT = "egress.tx_port"
DROPS = "ingress.drops"
PUNTS = "ingress.punts"


class RouterClient:
    """The primary P4Runtime session with one switch running ``router.p4``.

    Use as ``async with RouterClient(address, p4info, device_config, device_id) as client``;
    ``device_config`` is the target's program (BMv2's JSON), or None for a
    target with a fixed pipeline.
    """

    def __init__(self, address: str, p4info: Path, device_config: Path | None, device_id: int) -> None:
        # finsy pushes the pipeline only with a device config: an empty one still pushes the P4Info.
        blob = device_config if device_config is not None else b""
        options = SwitchOptions(p4info=p4info, p4blob=blob, p4force=True, device_id=device_id)
        self._switch = Switch("router", address, options)
        self._packet_ins: asyncio.Queue[P4PacketIn] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._installed: TableState | None = None

    async def __aenter__(self) -> RouterClient:
        await self._switch.__aenter__()
        self._reader = asyncio.create_task(self._read_packet_ins())
        await asyncio.sleep(0)  # let the reader register its queue before any packet is sent
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self._switch.__aexit__(exc_type, exc, tb)

    async def _read_packet_ins(self) -> None:
        async for packet in self._switch.read_packets(queue_size=1000):
            self._packet_ins.put_nowait(packet)

    # --- tables ------------------------------------------------------------

    async def install(self, state: TableState) -> None:
        """Make the tables hold exactly ``state`` (a no-op if they already do)."""
        if self._installed is not None and self._installed.to_json() == state.to_json():
            return
        if self._installed is not None:
            await self._switch.delete(table_entries(self._installed))
            self._installed = None
        await self._switch.insert(table_entries(state))
        self._installed = state

    # --- counters ----------------------------------------------------------

    async def read_counters(self) -> Counters:
        """Every non-zero counter cell, indexed as the model indexes them."""
        counters = Counters()
        cells = {
            RX_PORT: (counters.rx_port, int),
            TX_PORT: (counters.tx_port, int),
            DROPS: (counters.drops, lambda index: _enum_or_int(DropReason, index)),
            PUNTS: (counters.punts, lambda index: _enum_or_int(PuntReason, index)),
        }
        wanted = [P4CounterEntry(name) for name in cells]
        by_alias = {name.rsplit(".", 1)[-1]: name for name in cells}
        async for entry in self._switch.read(wanted):
            assert isinstance(entry, P4CounterEntry) and entry.index is not None
            if entry.packet_count == 0 and entry.byte_count == 0:
                continue
            # finsy names a counter entry by the P4Info alias ("rx_port"), not the full name.
            cell, index_of = cells[by_alias.get(entry.counter_id, entry.counter_id)]
            cell[index_of(entry.index)] = CounterValue(entry.packet_count, entry.byte_count)
        return counters

    # --- packet I/O ----------------------------------------------------------

    async def packet_out(self, frame: bytes) -> None:
        """Send ``frame`` as it arrives on the CPU port: packet_out header, then the frame."""
        if len(frame) < PACKET_OUT_HEADER_LEN:
            raise ValueError(f"a P4Runtime PacketOut always carries the {PACKET_OUT_HEADER_LEN}-byte header")
        egress_port = int.from_bytes(frame[:PACKET_OUT_HEADER_LEN], "big")
        await self._switch.write([P4PacketOut(frame[PACKET_OUT_HEADER_LEN:], egress_port=egress_port)])

    def packet_ins_waiting(self) -> int:
        """How many packet-ins have arrived and not been taken."""
        return self._packet_ins.qsize()

    def pending_packet_ins(self) -> list[Punt]:
        """Packet-ins received and not yet taken."""
        punts = []
        while not self._packet_ins.empty():
            punts.append(_punt(self._packet_ins.get_nowait()))
        return punts


def _punt(packet: P4PacketIn) -> Punt:
    # An unknown reason stays a plain int, so a wrong one shows up in a comparison, not as a crash.
    return Punt(_enum_or_int(PuntReason, packet["reason"]), packet["ingress_port"], packet.payload)


def _enum_or_int(enum: type[IntEnum], value: int) -> int:
    try:
        return enum(value)
    except ValueError:
        return value
