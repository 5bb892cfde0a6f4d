"""Placement of chunks in the range slots: aligned first fit over free intervals.

A chunk of ``n`` ranges with search depth ``d`` needs a base aligned to
``2**d`` and occupies the slots ``[base + 1, base + n)``: its first range
(``base + 0``) lives in the direct table, so that slot may belong to the
chunk placed just below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class OutOfSlots(Exception):
    """No free, suitably aligned run of slots is large enough."""


@dataclass
class SlotAllocator:
    """Free slots as disjoint intervals ``[start, end)``, bucketed by length.

    The buckets (``floor(log2(length))``) make a request look only at
    intervals long enough to hold it.
    """

    slots: int
    _end_of: dict[int, int] = field(default_factory=dict)  # start -> end
    _start_of: dict[int, int] = field(default_factory=dict)  # end -> start
    _buckets: dict[int, set[int]] = field(default_factory=dict)  # log2 length -> starts

    def __post_init__(self) -> None:
        # Slot 0 can never hold a searched range (it would be some chunk's base).
        self._add(1, self.slots)

    # --- requests -----------------------------------------------------------------

    def allocate(self, count: int, depth: int, thorough: bool = False) -> int:
        """Reserve ``count`` ranges aligned to ``2**depth``; return the base.

        First fit among the shortest intervals that might hold the request
        (looking at a bounded number of them unless ``thorough``), else any
        interval long enough to hold it at any alignment, else an exhaustive
        search. ``thorough`` packs tighter (``bulk_load``, largest chunks first).
        """
        if count < 2 or count > 1 << depth:
            raise ValueError(f"{count} ranges do not need depth {depth}")
        align = 1 << depth
        candidates = sorted(b for b in self._buckets if (2 << b) > count - 1)
        roomy = [b for b in candidates if (1 << b) >= count + align]  # any interval there fits
        looked = 0
        limit = len(self._end_of) if thorough else self.SCAN_LIMIT
        for bucket in candidates:
            if looked >= limit or (bucket in roomy and not thorough):
                break
            for start in self._buckets[bucket]:
                base = self._try(start, count, align)
                if base is not None:
                    return base
                looked += 1
                if looked >= limit:
                    break
        if roomy:
            base = self._try(next(iter(self._buckets[roomy[0]])), count, align)
            assert base is not None
            return base
        for bucket in candidates:
            for start in list(self._buckets[bucket]):
                base = self._try(start, count, align)
                if base is not None:
                    return base
        raise OutOfSlots(f"no aligned run of {count - 1} free slots (alignment {align})")

    SCAN_LIMIT = 64

    def _try(self, start: int, count: int, align: int) -> int | None:
        """Take ``count`` ranges from the free interval at ``start`` if they fit."""
        end = self._end_of[start]
        base = (start - 1 + align - 1) & ~(align - 1)
        if base + count > end:
            return None
        self._carve(start, end, base + 1, base + count)
        return base

    def release(self, base: int, count: int) -> None:
        """Give back what ``allocate(count, …)`` returned as ``base``."""
        self._free(base + 1, base + count)

    def reserve(self, start: int, end: int) -> list[tuple[int, int]]:
        """Take every free slot in ``[start, end)`` out of use; return them for :meth:`unreserve`."""
        taken = []
        for free_start, free_end in list(self._end_of.items()):
            if free_end > start and free_start < end:
                low, high = max(free_start, start), min(free_end, end)
                self._carve(free_start, free_end, low, high)
                taken.append((low, high))
        return taken

    def unreserve(self, taken: list[tuple[int, int]]) -> None:
        for start, end in taken:
            self._free(start, end)

    def _free(self, start: int, end: int) -> None:
        left = self._start_of.get(start)
        if left is not None:
            self._remove(left, start)
            start = left
        right = self._end_of.get(end)
        if right is not None:
            self._remove(end, right)
            end = right
        self._add(start, end)

    # --- figures ------------------------------------------------------------------

    @property
    def free_slots(self) -> int:
        return sum(end - start for start, end in self._end_of.items())

    @property
    def high_water(self) -> int:
        """Slots below the first slot of the free run that reaches the top."""
        return self._start_of.get(self.slots, self.slots)

    # --- intervals ------------------------------------------------------------------

    def _carve(self, start: int, end: int, used_start: int, used_end: int) -> None:
        self._remove(start, end)
        if start < used_start:
            self._add(start, used_start)
        if used_end < end:
            self._add(used_end, end)

    def _add(self, start: int, end: int) -> None:
        self._end_of[start] = end
        self._start_of[end] = start
        self._buckets.setdefault((end - start).bit_length() - 1, set()).add(start)

    def _remove(self, start: int, end: int) -> None:
        del self._end_of[start]
        del self._start_of[end]
        bucket = (end - start).bit_length() - 1
        self._buckets[bucket].discard(start)
        if not self._buckets[bucket]:
            del self._buckets[bucket]
