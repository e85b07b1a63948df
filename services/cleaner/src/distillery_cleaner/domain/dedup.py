"""Which candidates of a batch are duplicates, given what the index already holds.

Exact duplicates share a content hash, whatever call they come from. Near duplicates
share an LSH band and have an estimated Jaccard similarity at or above the threshold,
and come from different calls: the turns of one call repeat the turns before them, so
they always look alike and are never each other's duplicates.

Which one of a pair is kept is deterministic: an example already in the index wins over
any candidate (the earlier-indexed one first), and within a batch candidates are taken
in (start time, observation id) order, so the earlier generation wins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import numpy

from distillery_contracts.examples import RejectReason
from distillery_cleaner.domain.screen import Candidate
from distillery_cleaner.domain.verdicts import Rejection


class IndexedExample(NamedTuple):
    """An example already in the near-duplicate index, as a lookup returns it (a named tuple: a
    lookup late in a replay returns tens of thousands, batch after batch)."""

    example_id: str
    session_key: str
    signature: bytes
    band_keys: tuple[int, ...]
    """Those of its band keys that were looked up (the lookup's answer need not hold the others)."""
    rank: int
    """Order of indexing: lower was indexed earlier and wins a tie."""


class _Pool:
    """The examples a batch's candidates are compared with: those the lookup found (in rank order),
    then each candidate kept, one row each of a matrix of their MinHash values (32-bit lanes)."""

    def __init__(self, indexed: Sequence[IndexedExample], room: int, num_perm: int) -> None:
        self.values = numpy.empty((len(indexed) + room, num_perm), dtype=numpy.uint32)
        self.values[:len(indexed)] = numpy.frombuffer(b"".join(e.signature for e in indexed),
                                                   dtype=numpy.uint32).reshape(len(indexed), num_perm)
        self._call_numbers: dict[str, int] = {}
        self.calls = numpy.empty(len(indexed) + room, dtype=numpy.int64)
        self.calls[:len(indexed)] = [self.call_number(e.session_key) for e in indexed]
        self.example_ids = [e.example_id for e in indexed]
        self.by_band: dict[int, list[int]] = defaultdict(list)
        for row, example in enumerate(indexed):  # a band no candidate has is never asked for
            for key in example.band_keys:
                self.by_band[key].append(row)

    def call_number(self, session_key: str) -> int:
        return self._call_numbers.setdefault(session_key, len(self._call_numbers))

    def add(self, example_id: str, session_key: str, signature: bytes, bands: Iterable[int]) -> None:
        row = len(self.example_ids)
        self.values[row] = numpy.frombuffer(signature, dtype=numpy.uint32)
        self.calls[row] = self.call_number(session_key)
        self.example_ids.append(example_id)
        for key in bands:
            self.by_band[key].append(row)


def resolve_duplicates(
    candidates: Sequence[Candidate],
    exact: Mapping[str, str],
    near: Iterable[IndexedExample],
    threshold: float,
    num_perm: int,
) -> list[tuple[Candidate, Rejection | None]]:
    """Each candidate (in keeping order) with its duplicate rejection, or None when kept.

    ``exact`` maps content hashes already indexed to their example ids; ``near`` holds
    the indexed examples sharing at least one band with some candidate.
    """
    pool = _Pool(sorted(near, key=lambda e: e.rank), len(candidates), num_perm)
    kept_hashes: dict[str, str] = dict(exact)
    verdicts: list[tuple[Candidate, Rejection | None]] = []
    for candidate in sorted(candidates, key=lambda c: c.order_key):
        rejection = _exact_duplicate(candidate, kept_hashes) or _near_duplicate(candidate, pool, threshold, num_perm)
        verdicts.append((candidate, rejection))
        if rejection is None:
            kept_hashes[candidate.content_hash] = candidate.example_id
            if candidate.signature is not None:
                pool.add(candidate.example_id, candidate.session_key, candidate.signature, candidate.band_keys)
    return verdicts


def _exact_duplicate(candidate: Candidate, kept: Mapping[str, str]) -> Rejection | None:
    original = kept.get(candidate.content_hash)
    if original is None:
        return None
    return Rejection(RejectReason.DUPLICATE_EXACT, "same normalised conversation as the kept example",
                     duplicate_of=original)


def _near_duplicate(candidate: Candidate, pool: _Pool, threshold: float, num_perm: int) -> Rejection | None:
    """The most similar example of another call sharing a band with ``candidate``, at or above the
    threshold (the earliest indexed of equals), compared all at once: late in a replay a batch's
    candidates meet tens of thousands of them."""
    if candidate.signature is None:
        return None
    rows = [row for key in candidate.band_keys for row in pool.by_band.get(key, ())]
    if not rows:
        return None
    shared = numpy.unique(numpy.array(rows, dtype=numpy.int64))
    shared = shared[pool.calls[shared] != pool.call_number(candidate.session_key)]
    if not shared.size:
        return None
    values = numpy.frombuffer(candidate.signature, dtype=numpy.uint32)
    equal = numpy.count_nonzero(pool.values[shared] == values, axis=1)  # the equal values of each
    best = int(numpy.argmax(equal))  # rows are in rank order: the first of the most similar was indexed first
    score = int(equal[best]) / num_perm
    if score < threshold:
        return None
    return Rejection(RejectReason.DUPLICATE_NEAR,
                     f"estimated Jaccard similarity {score:.2f} >= {threshold} with the kept example",
                     duplicate_of=pool.example_ids[int(shared[best])])
