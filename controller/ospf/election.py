"""Designated Router / Backup Designated Router election (RFC 2328 §9.4), as a pure function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv4Address

from controller.ospf.constants import NO_ROUTER


@dataclass(frozen=True, slots=True)
class Candidate:
    """A router on the network as the election sees it: identity, priority, what it declares."""

    router_id: IPv4Address
    address: IPv4Address
    priority: int
    dr: IPv4Address = NO_ROUTER  # the DR it declares, by interface address
    bdr: IPv4Address = NO_ROUTER

    @property
    def declares_dr(self) -> bool:
        return self.dr == self.address

    @property
    def declares_bdr(self) -> bool:
        return self.bdr == self.address


def _rank(candidate: Candidate) -> tuple[int, IPv4Address]:
    return (candidate.priority, candidate.router_id)


def _round(candidates: Sequence[Candidate]) -> tuple[IPv4Address, IPv4Address]:
    # Steps 3 and 4: the BDR first (from routers not claiming DR), then the DR.
    not_dr = [c for c in candidates if not c.declares_dr]
    pool = [c for c in not_dr if c.declares_bdr] or not_dr
    bdr = max(pool, key=_rank).address if pool else NO_ROUTER
    claiming_dr = [c for c in candidates if c.declares_dr]
    dr = max(claiming_dr, key=_rank).address if claiming_dr else bdr
    return dr, bdr


def elect(me: Candidate, neighbors: Sequence[Candidate]) -> tuple[IPv4Address, IPv4Address]:
    """(DR, BDR) addresses, 0.0.0.0 for none.

    ``neighbors`` are the routers in state 2-Way or higher; those with
    priority 0 never stand. ``me`` declares the interface's current DR/BDR.
    """
    others = [n for n in neighbors if n.priority > 0]
    candidates = [*others, me] if me.priority > 0 else others
    dr, bdr = _round(candidates)
    if me.priority > 0:
        changed_dr = (dr == me.address) != me.declares_dr
        changed_bdr = (bdr == me.address) != me.declares_bdr
        if changed_dr or changed_bdr:  # step 5: again, with our new role declared
            me = replace(me, dr=dr, bdr=bdr)
            dr, bdr = _round([*others, me])
    return dr, bdr
