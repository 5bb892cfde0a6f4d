"""The link-state database (§12.2, §14): LSAs keyed by (type, id, advertising router), aged by the clock.

An LSA's age is stored as the age it had when installed plus the seconds
since, so nothing runs per second. Each entry has one timer: when a learnt
LSA reaches MaxAge (``on_max_age``) or a self-originated one reaches
LSRefreshTime (``on_refresh``); the instance decides what either means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from controller.clock import Clock
from controller.clock import TimerHandle as Timer
from controller.ospf.constants import LS_REFRESH_TIME, MAX_AGE
from controller.ospf.lsa import Lsa, LsaHeader, LsaKey


@dataclass(slots=True)
class LsdbEntry:
    lsa: Lsa  # its header's age is the age at ``installed_at``
    installed_at: float
    self_originated: bool
    timer: Timer | None = None
    #: when we last answered a neighbour's older copy with this one (§13 step 8)
    sent_back_at: float = float("-inf")


class Lsdb:
    def __init__(
        self,
        clock: Clock,
        on_max_age: Callable[[LsaKey], None],
        on_refresh: Callable[[LsaKey], None],
    ) -> None:
        self._clock = clock
        self._on_max_age = on_max_age
        self._on_refresh = on_refresh
        self._entries: dict[LsaKey, LsdbEntry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: LsaKey) -> bool:
        return key in self._entries

    def entry(self, key: LsaKey) -> LsdbEntry | None:
        return self._entries.get(key)

    def age_of(self, entry: LsdbEntry) -> int:
        # The epsilon keeps a timer that fires at exactly N seconds from reading N - 1.
        elapsed = int(self._clock.now() - entry.installed_at + 1e-6)
        return min(MAX_AGE, entry.lsa.header.age + max(0, elapsed))

    def get(self, key: LsaKey) -> Lsa | None:
        """The database copy with its current age, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = self.age_of(entry)
        return entry.lsa if age == entry.lsa.header.age else entry.lsa.with_age(age)

    def header(self, key: LsaKey) -> LsaHeader | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        return replace(entry.lsa.header, age=self.age_of(entry))

    def install(self, lsa: Lsa, self_originated: bool = False) -> Lsa | None:
        """Installs ``lsa`` (replacing any older instance); returns the instance it replaced."""
        old = self._entries.get(lsa.key)
        if old is not None and old.timer is not None:
            old.timer.cancel()
        entry = LsdbEntry(lsa, self._clock.now(), self_originated)
        self._entries[lsa.key] = entry
        self._arm(entry)
        return old.lsa if old is not None else None

    def remove(self, key: LsaKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None and entry.timer is not None:
            entry.timer.cancel()

    def keys(self) -> list[LsaKey]:
        return list(self._entries)

    def lsas(self) -> Iterator[Lsa]:
        """Every LSA with its current age."""
        for key in list(self._entries):
            lsa = self.get(key)
            if lsa is not None:
                yield lsa

    def headers(self) -> list[LsaHeader]:
        return [lsa.header for lsa in self.lsas()]

    def max_age_keys(self) -> list[LsaKey]:
        return [key for key, entry in self._entries.items() if self.age_of(entry) >= MAX_AGE]

    def _arm(self, entry: LsdbEntry) -> None:
        key, age = entry.lsa.key, entry.lsa.header.age
        if age >= MAX_AGE:
            entry.timer = None
        elif entry.self_originated and age < LS_REFRESH_TIME:
            entry.timer = self._clock.call_later(LS_REFRESH_TIME - age, lambda: self._on_refresh(key))
        else:
            entry.timer = self._clock.call_later(MAX_AGE - age, lambda: self._on_max_age(key))
