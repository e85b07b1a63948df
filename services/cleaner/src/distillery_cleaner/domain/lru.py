"""The cleaner's bounded caches: least recently used out first."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

CACHE_ENTRIES = 16_384
"""Entries of each of the cleaner's caches of distinct texts (cleaned messages, their texts,
personal data found, shingles). What they save is a call's earlier turns, which every later
turn carries again, and the system prompt and tool results every call carries. A call's turns
reach the cleaner seconds to minutes apart, with a few hundred other texts between them even at
five times the reference traffic; a batch of 1,000 generations brings ~1,400 new texts, and the
next batch's are found while the current one is screened, so two batches' must fit. 65,536
entries found about the same share (86.5% against 86.2% on ``tests/bench/bench_cleaner.py``'s
40,000 generations) and held far more: the cleaner's peak in a 300,000-generation replay
(``tests/bench/bench_replay.py --no-ner``) was 1,011 MiB with them, 760 MiB with these."""


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
