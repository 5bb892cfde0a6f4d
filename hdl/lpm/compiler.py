"""The host side of the LPM engine: route table in, management writes out.

:class:`LpmCompiler` keeps the routes, the placement of every chunk and a
copy of every engine memory (:class:`MemoryImage`). ``insert`` and
``delete`` return the ordered ``(address, data)`` writes that move the engine
from the old table to the new one; applied in order, every lookup sees either
the old or the new table:

* a chunk whose range starts change is written afresh into free slots, then
  its direct-table word is switched in one write (the engine acknowledges
  that write only once no lookup can still read the old block), then the
  old block is freed;
* a chunk whose range starts stay put only has action fields rewritten in
  place: a lookup's answer comes from one word, so it sees the old or the
  new action of that word;
* a new action is written into a free action-table entry before anything
  refers to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from sim.model.codes import PORT_BITS
from sim.model.tables import Direct, NextHop, NullRoute, RouteAction

from .allocator import OutOfSlots, SlotAllocator
from .geometry import LpmGeometry, Region, _ceil_log2
from .interface import RouteKind

__all__ = ["LpmCompiler", "LpmTableFull", "LpmUsage", "MemoryImage", "Write"]

#: One management write: (word address in the engine's space, data).
Write = tuple[int, int]
#: A chunk's ranges: sorted (start key, action index); the first starts at 0.
Ranges = list[tuple[int, int]]


class LpmTableFull(Exception):
    """The write would exceed the engine's capacity; nothing was changed."""


def encode_action(action: RouteAction) -> tuple[int, int]:
    """``(next-hop address, port | kind << PORT_BITS)`` as the action table holds them."""
    if isinstance(action, NextHop):
        return int(action.ip), action.port | RouteKind.NEXTHOP << PORT_BITS
    if isinstance(action, Direct):
        return 0, action.port | RouteKind.DIRECT << PORT_BITS
    if isinstance(action, NullRoute):
        return 0, RouteKind.DROP << PORT_BITS
    raise TypeError(f"not a route action: {action!r}")


def decode_action(nhop: int, kind_port: int) -> RouteAction:
    kind = RouteKind(kind_port >> PORT_BITS)
    port = kind_port & ((1 << PORT_BITS) - 1)
    if kind == RouteKind.NEXTHOP:
        return NextHop(IPv4Address(nhop), port)
    if kind == RouteKind.DIRECT:
        return Direct(port)
    return NullRoute()


@dataclass
class MemoryImage:
    """What the engine's memories hold, word for word, after a list of writes."""

    geometry: LpmGeometry
    direct: list[int] = field(init=False)
    stages: list[list[int]] = field(init=False)
    nhop: list[int] = field(init=False)
    kind_port: list[int] = field(init=False)

    def __post_init__(self) -> None:
        g = self.geometry
        self.direct = [0] * (1 << g.direct_bits)
        self.stages = [[0] * g.stage_depth(s) for s in range(g.stages)]
        self.nhop = [0] * (1 << g.action_bits)
        self.kind_port = [0] * (1 << g.action_bits)

    def apply(self, writes: Iterable[Write]) -> None:
        g = self.geometry
        for address, data in writes:
            region, index = address >> g.region_bits, address & ((1 << g.region_bits) - 1)
            if region == Region.DIRECT:
                self.direct[index] = data
            elif region == Region.ACTION_NHOP:
                self.nhop[index] = data
            elif region == Region.ACTION_KIND_PORT:
                self.kind_port[index] = data
            elif Region.STAGE <= region < g.region_count:
                self.stages[region - Region.STAGE][index] = data
            else:
                raise ValueError(f"write to unmapped address {address:#x}")

    def lookup_action(self, address: int) -> int:
        """The action index the engine computes for ``address`` (0: no route)."""
        g = self.geometry
        key = address & ((1 << g.key_bits) - 1)
        action, depth, last = g.decode_direct(self.direct[address >> g.key_bits])
        pos = last & ~((1 << depth) - 1)
        for s in reversed(range(depth)):
            probe = pos | 1 << s
            if probe <= last:
                probe_key, probe_action = g.decode_range(self.stages[s][probe >> (s + 1)])
                if probe_key <= key:
                    pos, action = probe, probe_action
        return action

    def lookup(self, address: IPv4Address | int) -> RouteAction | None:
        action = self.lookup_action(int(address))
        if action == 0:
            return None
        return decode_action(self.nhop[action], self.kind_port[action])


@dataclass(frozen=True)
class LpmUsage:
    """How much of the engine a table uses."""

    prefixes: int
    chunks: int  # direct-table entries that point at ranges
    ranges: int  # range slots holding a range
    high_water: int  # range slots below the highest one in use
    actions: int
    bits: int  # the compiled structure: direct table + slots to high water + actions

    @property
    def bytes_per_prefix(self) -> float:
        return self.bits / 8 / max(1, self.prefixes)


@dataclass
class _Chunk:
    base: int
    ranges: Ranges

    @property
    def depth(self) -> int:
        return _ceil_log2(len(self.ranges))

    @property
    def last(self) -> int:
        return self.base + len(self.ranges) - 1


@dataclass
class _Actions:
    """Action-table entries, shared by every route with the same action."""

    capacity: int
    index: dict[RouteAction, int] = field(default_factory=dict)
    refs: dict[int, int] = field(default_factory=dict)
    free: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.free = list(range(self.capacity, 0, -1))

    def peek(self, action: RouteAction) -> int | None:
        """The entry ``action`` would use, or None when the table is full."""
        if action in self.index:
            return self.index[action]
        return self.free[-1] if self.free else None

    def acquire(self, action: RouteAction) -> tuple[int, bool]:
        """Take a reference; return ``(index, is_new)``."""
        if action in self.index:
            number = self.index[action]
            self.refs[number] += 1
            return number, False
        number = self.free.pop()
        self.index[action] = number
        self.refs[number] = 1
        return number, True

    def release(self, action: RouteAction) -> None:
        number = self.index[action]
        self.refs[number] -= 1
        if self.refs[number] == 0:
            del self.refs[number], self.index[action]
            self.free.append(number)


def build_ranges(cover: int, inner: dict[tuple[int, int], int], key_bits: int) -> Ranges:
    """A chunk's ranges: ``cover`` everywhere, overlaid by the ``inner`` prefixes.

    ``inner`` maps ``(start key, prefix length within the chunk)`` to an
    action index. Neighbouring ranges with the same action are merged.
    """
    space = 1 << key_bits
    starts = [0]  # range starts, then the action of each
    actions = [cover]
    stack = [(space, cover)]  # (end, action) of the enclosing prefixes

    def emit(pos: int, action: int) -> None:
        if starts[-1] == pos:
            actions[-1] = action
        elif pos != space:
            starts.append(pos)
            actions.append(action)

    for (start, length), action in sorted(inner.items()):
        while stack[-1][0] <= start:
            end = stack.pop()[0]
            emit(end, stack[-1][1])
        emit(start, action)
        stack.append((start + (1 << (key_bits - length)), action))
    while len(stack) > 1:
        end = stack.pop()[0]
        emit(end, stack[-1][1])

    merged: Ranges = [(0, actions[0])]
    previous = actions[0]
    for start, action in zip(starts, actions, strict=True):
        if action != previous:
            merged.append((start, action))
            previous = action
    return merged


class LpmCompiler:
    """Compiles routes into an :class:`LpmEngine`'s memories, incrementally.

    ``capacity`` (default and maximum: ``geometry.guaranteed_prefixes``) is
    the table size the engine advertises; inserting a new prefix beyond it,
    or a new action beyond ``geometry.actions``, raises :class:`LpmTableFull`.
    ``overcommit=True`` lifts the maximum to ``geometry.slots`` (benchmarks
    that measure how much a real table needs): then running out of range
    slots raises :class:`LpmTableFull` too, still without changing anything.
    """

    def __init__(
        self, geometry: LpmGeometry | None = None, capacity: int | None = None, overcommit: bool = False
    ):
        self.geometry = g = LpmGeometry() if geometry is None else geometry
        self.capacity = g.guaranteed_prefixes if capacity is None else capacity
        self.overcommit = overcommit
        limit = g.slots if overcommit else g.guaranteed_prefixes
        if not 0 <= self.capacity <= limit:
            raise ValueError(f"capacity must be 0..{limit} for {g}, not {self.capacity}")
        self.image = MemoryImage(g)
        self._routes: dict[IPv4Network, RouteAction] = {}
        # Prefixes no longer than direct_bits, per length: network -> action index.
        self._short: list[dict[int, int]] = [{} for _ in range(g.direct_bits + 1)]
        # Longer prefixes, per chunk: (start key, length within chunk) -> action index.
        self._inner: dict[int, dict[tuple[int, int], int]] = {}
        self._chunks: dict[int, _Chunk] = {}
        self._actions = _Actions(g.actions)
        self._slots = SlotAllocator(g.slots)
        self._unsent: list[Write] = []  # relocation writes (see flush)
        self._packing = False  # bulk_load: place chunks in order, bottom up
        self.relocations = 0  # chunks moved to make room

    # --- the route table -----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._routes)

    def routes(self) -> Iterator[tuple[IPv4Network, RouteAction]]:
        """Every route, in address order."""
        for prefix in sorted(self._routes, key=lambda p: (int(p.network_address), p.prefixlen)):
            yield prefix, self._routes[prefix]

    def get(self, prefix: IPv4Network) -> RouteAction | None:
        return self._routes.get(prefix)

    def lookup(self, address: IPv4Address | int) -> RouteAction | None:
        """What the engine answers for ``address`` (computed over the memory image)."""
        return self.image.lookup(address)

    def usage(self) -> LpmUsage:
        g = self.geometry
        ranges = sum(len(chunk.ranges) - 1 for chunk in self._chunks.values())
        high = self._slots.high_water
        return LpmUsage(
            prefixes=len(self._routes),
            chunks=len(self._chunks),
            ranges=ranges,
            high_water=high,
            actions=len(self._actions.index),
            bits=g.bits(high, len(self._actions.index) + 1),
        )

    # --- updates ------------------------------------------------------------------------

    def insert(self, prefix: IPv4Network, action: RouteAction) -> list[Write]:
        """Add or replace the route for ``prefix``; return the writes, in order."""
        prefix = _check_prefix(prefix)
        encode_action(action)  # rejects non-actions
        _check_action(action)
        old = self._routes.get(prefix)
        if old == action:
            return []
        if old is None and len(self._routes) >= self.capacity:
            raise LpmTableFull(f"{prefix}: the table holds at most {self.capacity} prefixes")
        if self._actions.peek(action) is None:
            raise LpmTableFull(f"{prefix}: all {self.geometry.actions} action entries are in use")
        number, is_new = self._actions.acquire(action)
        writes: list[Write] = []
        if is_new:
            nhop, kind_port = encode_action(action)
            writes += [
                (self.geometry.address(Region.ACTION_NHOP, number), nhop),
                (self.geometry.address(Region.ACTION_KIND_PORT, number), kind_port),
            ]
        try:
            writes += self._set(prefix, number)
        except LpmTableFull:
            self._actions.release(action)
            raise
        self._routes[prefix] = action
        if old is not None:
            self._actions.release(old)
        if is_new:
            self.image.apply(writes[:2])
        return self.flush() + writes

    def delete(self, prefix: IPv4Network) -> list[Write]:
        """Remove the route for ``prefix`` (KeyError if absent); return the writes."""
        prefix = _check_prefix(prefix)
        old = self._routes[prefix]
        writes = self._set(prefix, None)
        del self._routes[prefix]
        self._actions.release(old)
        return self.flush() + writes

    def bulk_load(self, routes: Iterable[tuple[IPv4Network, RouteAction]]) -> list[Write]:
        """Fill an empty compiler with ``routes`` at once, packing chunks largest first."""
        if self._routes:
            raise RuntimeError("bulk_load needs an empty table")
        writes: list[Write] = []
        for prefix, action in routes:
            prefix = _check_prefix(prefix)
            _check_action(action)
            if prefix in self._routes:
                raise ValueError(f"{prefix} appears twice")
            if len(self._routes) >= self.capacity:
                self._reset()
                raise LpmTableFull(f"{prefix}: the table holds at most {self.capacity} prefixes")
            if self._actions.peek(action) is None:
                self._reset()
                raise LpmTableFull(f"{prefix}: all {self.geometry.actions} action entries are in use")
            number, is_new = self._actions.acquire(action)
            if is_new:
                nhop, kind_port = encode_action(action)
                writes += [
                    (self.geometry.address(Region.ACTION_NHOP, number), nhop),
                    (self.geometry.address(Region.ACTION_KIND_PORT, number), kind_port),
                ]
            self._routes[prefix] = action
            self._file(prefix, number)
        self.image.apply(writes)
        wanted = {c: self._ranges_of(c) for c in range(1 << self.geometry.direct_bits)}
        order = sorted(wanted, key=lambda c: -len(wanted[c]))
        self._packing = True
        try:
            writes += self._refresh(order, wanted)
        except LpmTableFull:
            self._reset()
            raise
        finally:
            self._packing = False
        return self.flush() + writes

    # --- internals ------------------------------------------------------------------------

    def _reset(self) -> None:
        self.__init__(self.geometry, self.capacity, self.overcommit)

    def _file(self, prefix: IPv4Network, number: int | None) -> None:
        """Record ``prefix -> number`` (None: remove) in the per-length structures."""
        g = self.geometry
        network, length = int(prefix.network_address), prefix.prefixlen
        if length <= g.direct_bits:
            table = self._short[length]
        else:
            table = self._inner.setdefault(network >> g.key_bits, {})
            network = (network & ((1 << g.key_bits) - 1), length - g.direct_bits)
        if number is None:
            del table[network]
        else:
            table[network] = number
        if length > g.direct_bits and not table:
            del self._inner[int(prefix.network_address) >> g.key_bits]

    def _chunks_under(self, prefix: IPv4Network) -> range:
        g = self.geometry
        first = int(prefix.network_address) >> g.key_bits
        return range(first, first + (1 << max(0, g.direct_bits - prefix.prefixlen)))

    def _cover(self, chunk: int) -> int:
        """Action of the longest prefix no longer than direct_bits covering ``chunk``."""
        g = self.geometry
        for length in range(g.direct_bits, -1, -1):
            network = (chunk >> (g.direct_bits - length)) << (32 - length) if length else 0
            number = self._short[length].get(network)
            if number is not None:
                return number
        return 0

    def _ranges_of(self, chunk: int) -> Ranges:
        cover = self._cover(chunk)
        inner = self._inner.get(chunk)
        if not inner:
            return [(0, cover)]
        return build_ranges(
            cover, {(s, length): a for (s, length), a in inner.items()}, self.geometry.key_bits
        )

    def _current(self, chunk: int) -> Ranges:
        placed = self._chunks.get(chunk)
        if placed is not None:
            return placed.ranges
        return [(0, self.geometry.decode_direct(self.image.direct[chunk])[0])]

    def _set(self, prefix: IPv4Network, number: int | None) -> list[Write]:
        """Point ``prefix`` at action ``number`` (None: remove it); undo on failure."""
        old = self._routes.get(prefix)
        old_number = None if old is None else self._actions.index[old]
        self._file(prefix, number)
        chunks = self._chunks_under(prefix)
        wanted = {c: self._ranges_of(c) for c in chunks}
        try:
            return self._refresh(chunks, wanted)
        except LpmTableFull:
            self._file(prefix, old_number)
            raise

    def _refresh(self, chunks: Iterable[int], wanted: dict[int, Ranges]) -> list[Write]:
        """Writes that give every chunk its ``wanted`` ranges.

        New blocks are all reserved first, so a failure changes nothing.
        """
        g = self.geometry
        moves: list[tuple[int, int]] = []  # (chunk, new base)
        try:
            for chunk in chunks:
                ranges, current = wanted[chunk], self._current(chunk)
                if len(ranges) > 1 and [k for k, _ in ranges] != [k for k, _ in current]:
                    moves.append((chunk, self._allocate(len(ranges), moves, wanted)))
        except OutOfSlots as exc:
            for chunk, base in moves:
                self._slots.release(base, len(wanted[chunk]))
            raise LpmTableFull(f"range slots exhausted: {exc}") from None

        writes: list[Write] = []
        moved = dict(moves)
        for chunk in chunks:
            ranges, current = wanted[chunk], self._current(chunk)
            if ranges == current:
                continue
            old = self._chunks.get(chunk)
            if len(ranges) == 1:
                writes.append((g.address(Region.DIRECT, chunk), g.direct_word(ranges[0][1])))
                self._chunks.pop(chunk, None)
            elif chunk in moved:
                new = _Chunk(moved[chunk], ranges)
                for i in range(1, len(ranges)):
                    writes.append((g.stage_address(new.base + i), g.range_word(*ranges[i])))
                writes.append(
                    (g.address(Region.DIRECT, chunk), g.direct_word(ranges[0][1], new.depth, new.last))
                )
                self._chunks[chunk] = new
            else:  # same range starts: rewrite the actions that changed, in place
                assert old is not None
                for i in range(1, len(ranges)):
                    if ranges[i] != current[i]:
                        writes.append((g.stage_address(old.base + i), g.range_word(*ranges[i])))
                if ranges[0] != current[0]:
                    writes.append(
                        (g.address(Region.DIRECT, chunk), g.direct_word(ranges[0][1], old.depth, old.last))
                    )
                old.ranges = ranges
                old = None  # still in use
            if old is not None and (chunk in moved or len(ranges) == 1):
                self._slots.release(old.base, len(old.ranges))
        self.image.apply(writes)
        return writes

    # --- compaction ------------------------------------------------------------------------

    def _allocate(self, count: int, moves: list[tuple[int, int]], wanted: dict[int, Ranges]) -> int:
        """A block for ``count`` ranges; relocates chunks to make room if it must.

        ``moves`` lists the blocks already reserved by the update in progress
        (chunk, base), for the chunk's ``wanted`` ranges.
        """
        depth = _ceil_log2(count)
        try:
            return self._slots.allocate(count, depth, thorough=self._packing)
        except OutOfSlots:
            self._evacuate(depth, [(base, len(wanted[chunk])) for chunk, base in moves])
            return self._slots.allocate(count, depth)

    def _evacuate(self, depth: int, pending: list[tuple[int, int]]) -> None:
        """Empty one aligned window of ``2**depth`` slots by moving the chunks in it.

        Windows overlapping a chunk at least as deep (or a pending block) are
        left alone; of the others, the least occupied ones are tried. Each
        move is a copy into free slots and one switch of the direct word, the
        same as any update, so lookups stay consistent; the writes are queued
        in front of the next writes returned (see :meth:`flush`).
        """
        live: dict[int, int] = {}
        members: dict[int, list[int]] = {}
        blocked: set[int] = set()
        for base, count in pending:
            blocked.update(range((base + 1) >> depth, ((base + count - 1) >> depth) + 1))
        for chunk, placed in self._chunks.items():
            first, last = (placed.base + 1) >> depth, placed.last >> depth
            if placed.depth >= depth:
                blocked.update(range(first, last + 1))
            else:
                live[first] = live.get(first, 0) + len(placed.ranges) - 1
                members.setdefault(first, []).append(chunk)
        candidates = sorted((load, window) for window, load in live.items() if window not in blocked)
        for _, window in candidates[: self.EVACUATION_TRIES]:
            if self._empty_window(window, depth, members[window]):
                return
        raise OutOfSlots(f"no window of {1 << depth} slots can be emptied")

    EVACUATION_TRIES = 8

    def _empty_window(self, window: int, depth: int, chunks: list[int]) -> bool:
        held = self._slots.reserve(window << depth, (window + 1) << depth)
        placed: list[tuple[int, int]] = []
        try:
            for chunk in sorted(chunks, key=lambda c: -len(self._chunks[c].ranges)):
                count = len(self._chunks[chunk].ranges)
                placed.append((chunk, self._slots.allocate(count, _ceil_log2(count))))
        except OutOfSlots:
            for chunk, base in placed:
                self._slots.release(base, len(self._chunks[chunk].ranges))
            self._slots.unreserve(held)
            return False
        self._slots.unreserve(held)
        g = self.geometry
        writes: list[Write] = []
        for chunk, base in placed:
            old = self._chunks[chunk]
            new = _Chunk(base, old.ranges)
            writes += [
                (g.stage_address(base + i), g.range_word(*old.ranges[i])) for i in range(1, len(old.ranges))
            ]
            writes.append(
                (g.address(Region.DIRECT, chunk), g.direct_word(old.ranges[0][1], new.depth, new.last))
            )
            self._chunks[chunk] = new
            self._slots.release(old.base, len(old.ranges))
        self.image.apply(writes)
        self._unsent += writes
        self.relocations += len(placed)
        return True

    def flush(self) -> list[Write]:
        """Relocation writes not yet returned (after an update that failed anyway).

        Every successful ``insert``/``delete``/``bulk_load`` returns them first;
        a caller that gets :class:`LpmTableFull` may apply them now or leave
        them for the next update: either way, lookups are unaffected.
        """
        writes, self._unsent = self._unsent, []
        return writes


def _check_prefix(prefix: IPv4Network) -> IPv4Network:
    if not isinstance(prefix, IPv4Network):
        raise TypeError(f"prefix must be an IPv4Network, not {prefix!r}")
    return prefix


def _check_action(action: RouteAction) -> None:
    if isinstance(action, (NextHop, Direct)) and not 0 <= action.port < 1 << PORT_BITS:
        raise ValueError(f"port {action.port} does not fit {PORT_BITS} bits")
