"""A straightforward longest-prefix-match table: the oracle for every faster one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass
class ReferenceLpm(Generic[V]):
    """One hash map per prefix length; a lookup tries /32 down to /0.

    Slow (33 probes) but obviously right, which is what an oracle needs.
    """

    _by_length: list[dict[int, V]] = field(default_factory=lambda: [{} for _ in range(33)])

    def insert(self, prefix: IPv4Network, value: V) -> None:
        self._by_length[prefix.prefixlen][int(prefix.network_address)] = value

    def delete(self, prefix: IPv4Network) -> None:
        del self._by_length[prefix.prefixlen][int(prefix.network_address)]

    def lookup(self, address: IPv4Address | int) -> tuple[IPv4Network, V] | None:
        addr = int(address)
        for length in range(32, -1, -1):
            mask = ((1 << length) - 1) << (32 - length)
            value = self._by_length[length].get(addr & mask, _MISSING)
            if value is not _MISSING:
                return IPv4Network((addr & mask, length)), value  # type: ignore[return-value]
        return None

    def __len__(self) -> int:
        return sum(len(table) for table in self._by_length)

    def __iter__(self) -> Iterator[tuple[IPv4Network, V]]:
        for length, table in enumerate(self._by_length):
            for network, value in table.items():
                yield IPv4Network((network, length)), value


_MISSING = object()
