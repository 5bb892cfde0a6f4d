"""The management bus: how the host reads and writes every table and counter.

A small single-initiator register bus in the spirit of Wishbone classic:

* The initiator drives ``adr``, ``we`` and ``dat_w`` and raises ``stb``; it
  holds them stable until the subordinate answers.
* The subordinate raises ``ack`` for exactly one cycle when the access is
  done (it may take any number of cycles); on a read, ``dat_r`` is valid in
  that cycle. The initiator may start the next access in the cycle after.
* Addresses are 32-bit *word* addresses into a subordinate's own space; the
  core's decoder routes on the top bits (see ``hdl/core.py``).

Table subordinates never expose a half-written entry to lookups: an entry
wider than one word is assembled in staging registers and committed to the
lookup memory in a single clock by a final ``COMMIT`` write. Each table has
a ``STATUS`` word the host reads back after a commit (``ok`` or a refusal
such as "table full").
"""

from __future__ import annotations

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

DATA_WIDTH = 32


class MgmtSignature(wiring.Signature):
    """Initiator-side view of the management bus (flip it for a subordinate)."""

    def __init__(self, addr_width: int):
        if not isinstance(addr_width, int) or not 1 <= addr_width <= 32:
            raise TypeError(f"addr_width must be an integer 1..32, not {addr_width!r}")
        self.addr_width = addr_width
        super().__init__(
            {
                "adr": Out(addr_width),
                "we": Out(1),
                "dat_w": Out(DATA_WIDTH),
                "dat_r": In(DATA_WIDTH),
                "stb": Out(1),
                "ack": In(1),
            }
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MgmtSignature) and self.addr_width == other.addr_width

    def __repr__(self) -> str:
        return f"MgmtSignature({self.addr_width})"
