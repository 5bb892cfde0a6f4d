"""The packet stream: frames as beats of ``width`` bytes.

A frame is a run of beats from one with ``first`` set to one with ``last``
set. Byte ``i`` of a beat is ``data[8*i : 8*i+8]``; the first byte of the
frame on the wire is byte 0 of the first beat. Every beat but the last is
full; the last beat's ``keep`` is a non-empty run of ones from bit 0 (as an
AXI4-Stream "continuous aligned" stream). The only exception is an empty
frame, which is one beat with ``first``, ``last`` and ``keep == 0``.

The helpers at the bottom convert between frames (``bytes``) and beats, for
testbenches and the host side.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from amaranth.hdl import Const, Value
from amaranth.lib import data, stream

#: Datapath widths (bytes per beat) every component is built and tested for.
SUPPORTED_WIDTHS = (1, 2, 4, 8, 16)


def check_width(width: object) -> int:
    """Validate a datapath width in bytes; return it."""
    if not isinstance(width, int) or width not in SUPPORTED_WIDTHS:
        raise ValueError(f"datapath width must be one of {SUPPORTED_WIDTHS} bytes, not {width!r}")
    return width


def beat_layout(width: int) -> data.StructLayout:
    """One beat: ``data`` (``8*width`` bits), ``keep`` (a bit per byte), ``first``, ``last``."""
    check_width(width)
    return data.StructLayout({"data": 8 * width, "keep": width, "first": 1, "last": 1})


def packet_signature(width: int) -> stream.Signature:
    """The stream signature of a packet port ``width`` bytes wide (source side)."""
    return stream.Signature(beat_layout(width))


def byte_count(keep: Value, width: int) -> Value:
    """Number of valid bytes in a beat whose ``keep`` is a run of ones from bit 0."""
    count = Const(0, range(width + 1))
    for i in range(width):
        count = count + keep[i]
    return count


def keep_mask(count: int, width: int) -> int:
    """``keep`` for a beat carrying ``count`` bytes."""
    return (1 << count) - 1 if count < width else (1 << width) - 1


def beats_in(length: int, width: int) -> int:
    """How many beats a frame of ``length`` bytes takes (an empty frame takes one)."""
    return max(1, -(-length // width))


@dataclass(frozen=True)
class Beat:
    """A beat as plain integers (testbench and host side)."""

    data: int
    keep: int
    first: bool
    last: bool


def frame_to_beats(frame: bytes, width: int) -> Iterator[Beat]:
    """The beats that carry ``frame``."""
    count = beats_in(len(frame), width)
    for index in range(count):
        chunk = frame[index * width : (index + 1) * width]
        yield Beat(
            data=int.from_bytes(chunk, "little"),
            keep=keep_mask(len(chunk), width),
            first=index == 0,
            last=index == count - 1,
        )


def beat_bytes(data_value: int, keep: int, width: int) -> bytes:
    """The valid bytes of one beat (``keep`` is a run of ones from bit 0)."""
    count = bin(keep & ((1 << width) - 1)).count("1")
    return data_value.to_bytes(width, "little")[:count]
