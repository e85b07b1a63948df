"""A bounded cache: least recently used out first (the cleaner's caches of distinct texts, the
dataset-builder's of distinct messages)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Lru(Generic[K, V]):
    """At most ``size`` entries; reading or writing one makes it the most recent, and the least
    recent goes when a new one would pass the size."""

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._size = size

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        self._entries[key] = value
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return value

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is held, without making it more recent."""
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)
