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
from dataclasses import dataclass

from distillery_contracts.examples import RejectReason
from distillery_cleaner.domain.fingerprint import as_number, similarity
from distillery_cleaner.domain.screen import Candidate
from distillery_cleaner.domain.verdicts import Rejection


@dataclass(frozen=True)
class IndexedExample:
    """An example already in the near-duplicate index, as a lookup returns it."""

    example_id: str
    session_key: str
    signature: bytes
    band_keys: tuple[int, ...]
    """Those of its band keys that were looked up (the lookup's answer need not hold the others)."""
    rank: int
    """Order of indexing: lower was indexed earlier and wins a tie."""


@dataclass(frozen=True, slots=True)
class _Kept:
    example_id: str
    session_key: str
    number: int
    rank: int


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
    wanted = {key for candidate in candidates for key in candidate.band_keys}
    by_band: dict[int, list[_Kept]] = defaultdict(list)
    last_rank = 0
    for indexed in sorted(near, key=lambda e: e.rank):
        kept = _Kept(indexed.example_id, indexed.session_key, as_number(indexed.signature), indexed.rank)
        last_rank = indexed.rank
        for key in wanted.intersection(indexed.band_keys):
            by_band[key].append(kept)
    kept_hashes: dict[str, str] = dict(exact)
    verdicts: list[tuple[Candidate, Rejection | None]] = []
    for candidate in sorted(candidates, key=lambda c: c.order_key):
        number = as_number(candidate.signature) if candidate.signature is not None else None
        rejection = _exact_duplicate(candidate, kept_hashes) or _near_duplicate(
            candidate, number, by_band, threshold, num_perm)
        verdicts.append((candidate, rejection))
        if rejection is None:
            kept_hashes[candidate.content_hash] = candidate.example_id
            if number is not None:
                last_rank += 1
                kept = _Kept(candidate.example_id, candidate.session_key, number, last_rank)
                for key in candidate.band_keys:
                    by_band[key].append(kept)
    return verdicts


def _exact_duplicate(candidate: Candidate, kept: Mapping[str, str]) -> Rejection | None:
    original = kept.get(candidate.content_hash)
    if original is None:
        return None
    return Rejection(RejectReason.DUPLICATE_EXACT, "same normalised conversation as the kept example",
                     duplicate_of=original)


def _near_duplicate(candidate: Candidate, number: int | None, by_band: Mapping[int, list[_Kept]],
                    threshold: float, num_perm: int) -> Rejection | None:
    if number is None:
        return None
    best: tuple[float, int, str] | None = None
    seen: set[str] = set()
    session = candidate.session_key
    for key in candidate.band_keys:
        for kept in by_band.get(key, ()):
            if kept.session_key == session or kept.example_id in seen:
                continue
            seen.add(kept.example_id)
            score = similarity(number, kept.number, num_perm)
            if score >= threshold and (best is None or (-score, kept.rank) < (-best[0], best[1])):
                best = (score, kept.rank, kept.example_id)
    if best is None:
        return None
    return Rejection(RejectReason.DUPLICATE_NEAR,
                     f"estimated Jaccard similarity {best[0]:.2f} >= {threshold} with the kept example",
                     duplicate_of=best[2])
