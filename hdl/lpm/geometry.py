"""The shape of a range-table LPM engine: memory sizes, word layouts, address map.

Both sides of the engine use this one description: the Amaranth engine
(``hdl/lpm/engine.py``) builds its memories from it, and the host compiler
(``hdl/lpm/compiler.py``) encodes management writes with it. Nothing here
depends on Amaranth, so the compiler runs without it.

Structure (see docs/lpm.md for the picture):

* **Direct table**, ``2**direct_bits`` words, indexed by the top
  ``direct_bits`` of the address (a "chunk"). A word is either a *leaf* (the
  whole chunk has one answer: ``depth == 0``, ``action``) or a *chunk
  descriptor*: its ranges live in the range slots ``[base, last]`` with
  ``base = last & ~(2**depth - 1)``; ``action`` is the answer of its first
  range (which starts at key 0 and so is never searched).
* **Range slots**, ``2**slot_bits`` of them, each a ``(key, action)`` pair:
  ``key`` is the start of a range in the low ``32 - direct_bits`` address bits.
  A chunk's ranges are sorted and sit at ``base + i`` (``i >= 1``); ``base``
  is aligned to ``2**depth``. Binary search step ``s`` (``s = depth-1 .. 0``)
  only ever probes slots whose index has exactly ``s`` trailing zeros, so the
  slots are split by trailing-zero count into ``slot_bits`` memories, one per
  pipeline stage: stage ``s`` holds ``2**(slot_bits-1-s)`` words, addressed by
  ``index >> (s + 1)``. No slot is stored twice.
* **Action table**, ``2**action_bits`` entries: (kind, next-hop address,
  port). Action 0 means "no route".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

from sim.model.codes import PORT_BITS

WORD_BITS = 32


class Region(IntEnum):
    """Management-space regions, in address order (stage ``s`` is ``STAGE + s``)."""

    INFO = 0  # read-only: the geometry word
    DIRECT = 1
    ACTION_NHOP = 2  # next-hop IPv4 address
    ACTION_KIND_PORT = 3  # port | kind << PORT_BITS
    STAGE = 4


def _ceil_log2(n: int) -> int:
    return max(0, (n - 1).bit_length())


@dataclass(frozen=True)
class LpmGeometry:
    """Build parameters of one engine; every derived size follows from them."""

    direct_bits: int = 16
    slot_bits: int = 19
    action_bits: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.direct_bits <= 24:
            raise ValueError(f"direct_bits must be 1..24, not {self.direct_bits}")
        if not 2 <= self.slot_bits <= 24:
            raise ValueError(f"slot_bits must be 2..24, not {self.slot_bits}")
        if not 1 <= self.action_bits <= 16:
            raise ValueError(f"action_bits must be 1..16, not {self.action_bits}")
        if self.direct_word_bits > WORD_BITS:
            raise ValueError(
                f"a direct-table word needs {self.direct_word_bits} bits (> {WORD_BITS}): "
                "use fewer slot_bits or action_bits"
            )
        if self.range_word_bits > WORD_BITS:
            raise ValueError(
                f"a range word needs {self.range_word_bits} bits (> {WORD_BITS}): "
                "use more direct_bits or fewer action_bits"
            )

    # --- sizes ----------------------------------------------------------------

    @property
    def key_bits(self) -> int:
        """Address bits below the direct index: what a range key compares."""
        return 32 - self.direct_bits

    @property
    def slots(self) -> int:
        return 1 << self.slot_bits

    @property
    def stages(self) -> int:
        """Binary-search stages; a chunk can hold up to ``slots`` ranges."""
        return self.slot_bits

    @property
    def depth_bits(self) -> int:
        return _ceil_log2(self.stages + 1)

    @property
    def actions(self) -> int:
        """Distinct route actions the table can hold (action 0 is the miss)."""
        return (1 << self.action_bits) - 1

    @property
    def direct_word_bits(self) -> int:
        return self.action_bits + self.slot_bits + self.depth_bits

    @property
    def range_word_bits(self) -> int:
        return self.action_bits + self.key_bits

    @property
    def action_word_bits(self) -> int:
        return WORD_BITS + 2 + PORT_BITS

    def stage_depth(self, stage: int) -> int:
        """Words in the memory of binary-search stage ``stage``."""
        return 1 << (self.slot_bits - 1 - stage)

    @property
    def guaranteed_prefixes(self) -> int:
        """Routes any table of this many prefixes is guaranteed to fit (docs/lpm.md).

        A chunk with ``p`` prefixes longer than ``direct_bits`` has at most
        ``2p + 1`` ranges, so its aligned block is at most ``4p`` slots; the
        copy-on-write of a chunk needs its old and new block at once. Keeping
        the live blocks within half of the slots leaves room for both and for
        compaction, so ``slots / 8`` prefixes always fit.
        """
        return self.slots // 8

    # --- management address map -------------------------------------------------

    @cached_property
    def region_bits(self) -> int:
        return max(self.direct_bits, self.slot_bits - 1, self.action_bits, 1)

    @property
    def region_count(self) -> int:
        return Region.STAGE + self.stages

    @property
    def mgmt_addr_width(self) -> int:
        return self.region_bits + _ceil_log2(self.region_count)

    def address(self, region: int, index: int) -> int:
        return (region << self.region_bits) | index

    def stage_address(self, slot: int) -> int:
        """Management address of range slot ``slot`` (``slot >= 1``)."""
        stage = trailing_zeros(slot)
        return self.address(Region.STAGE + stage, slot >> (stage + 1))

    @property
    def info_word(self) -> int:
        """What a read of the INFO region returns: the build parameters."""
        return self.direct_bits | self.slot_bits << 8 | self.action_bits << 16

    # --- word layouts ------------------------------------------------------------

    def direct_word(self, action: int, depth: int = 0, last: int = 0) -> int:
        return action | last << self.action_bits | depth << (self.action_bits + self.slot_bits)

    def decode_direct(self, word: int) -> tuple[int, int, int]:
        """``(action, depth, last)``."""
        action = word & ((1 << self.action_bits) - 1)
        last = (word >> self.action_bits) & (self.slots - 1)
        depth = word >> (self.action_bits + self.slot_bits)
        return action, depth, last

    def range_word(self, key: int, action: int) -> int:
        return action | key << self.action_bits

    def decode_range(self, word: int) -> tuple[int, int]:
        """``(key, action)``."""
        return word >> self.action_bits, word & ((1 << self.action_bits) - 1)

    # --- memory cost ------------------------------------------------------------------

    def bits(self, used_slots: int, used_actions: int) -> int:
        """Bits of the compiled structure: the direct table, ``used_slots`` range
        slots (a high-water mark) and ``used_actions`` action entries."""
        return (
            (1 << self.direct_bits) * self.direct_word_bits
            + used_slots * self.range_word_bits
            + used_actions * self.action_word_bits
        )

    def total_bits(self) -> int:
        """Bits of every memory the engine builds."""
        return self.bits(self.slots, 1 << self.action_bits)


def trailing_zeros(value: int) -> int:
    if value <= 0:
        raise ValueError(f"trailing_zeros needs a positive integer, not {value}")
    return (value & -value).bit_length() - 1
