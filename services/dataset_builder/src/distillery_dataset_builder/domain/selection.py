"""Choosing examples: newest first, capped per session, stratified by tags, within a byte budget.

Everything here is deterministic: ties between equally new examples are broken by
example id, and quotas are rounded by largest remainder with ties broken by stratum name.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

NO_VALUE = "(none)"
StratifyMode = Literal["proportional", "balanced"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What selection needs to know of one stored example (its text stays in the database)."""

    example_id: str
    session_key: str
    """Session id, or the trace id of a generation outside any session."""
    captured_at: datetime
    stratum: str
    body_bytes: int
    """Length of its JSONL line in bytes, without the newline."""
    tokens: int | None = None
    """Its token count with the build's tokenizer, when counted at storage with the same one."""


def newest_first(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Newest capture first; the example id breaks ties so the order never depends on storage."""
    by_id = sorted(candidates, key=lambda c: c.example_id)
    return sorted(by_id, key=lambda c: c.captured_at, reverse=True)


def stratum_of(intent: str | None, tags: Sequence[str], stratify_by: Sequence[str]) -> str:
    """The stratum label of an example, e.g. ``intent=booking`` or ``intent=booking|lang=de``.

    A prefix's value is the first tag ``<prefix>:<value>`` in sorted order; for ``intent``
    the example's intent field comes first. Missing values read ``(none)``.
    """
    parts = []
    for prefix in stratify_by:
        value = intent if prefix == "intent" and intent else None
        if value is None:
            marker = f"{prefix}:"
            value = next((t[len(marker):] for t in sorted(tags) if t.startswith(marker)), None)
        parts.append(f"{prefix}={value or NO_VALUE}")
    return "|".join(parts) if parts else "all"


def cap_per_session(candidates: Sequence[Candidate], cap: int | None) -> list[Candidate]:
    """The newest ``cap`` examples of every session, newest first overall."""
    ordered = newest_first(candidates)
    if cap is None:
        return ordered
    seen: dict[str, int] = defaultdict(int)
    kept = []
    for candidate in ordered:
        if seen[candidate.session_key] < cap:
            seen[candidate.session_key] += 1
            kept.append(candidate)
    return kept


def allocate(sizes: Mapping[str, int], total: int, mode: StratifyMode) -> dict[str, int]:
    """Quotas per stratum summing to min(total, all available), none above its size.

    proportional: shares follow the strata's sizes; balanced: equal shares. A stratum too
    small for its share gives the rest to the others (water-filling).
    """
    quotas = {name: 0 for name in sizes}
    open_strata = {name for name, size in sizes.items() if size > 0}
    remaining = min(total, sum(sizes.values()))
    while remaining > 0 and open_strata:
        weights = {n: (sizes[n] if mode == "proportional" else 1) for n in open_strata}
        shares = _largest_remainder(weights, remaining)
        # An open stratum's quota is still 0: it is set once, when it fills or when none does.
        saturated = {n for n in open_strata if shares[n] >= sizes[n]}
        if not saturated:
            quotas.update(shares)
            break
        for name in saturated:
            remaining -= sizes[name]
            quotas[name] = sizes[name]
        open_strata -= saturated
    return quotas


def _largest_remainder(weights: Mapping[str, int], total: int) -> dict[str, int]:
    weight_sum = sum(weights.values())
    exact = {n: total * w / weight_sum for n, w in weights.items()}
    shares = {n: math.floor(x) for n, x in exact.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(exact, key=lambda n: (-(exact[n] - shares[n]), n))
    for name in by_remainder[:left]:
        shares[name] += 1
    return shares


def select_stratified(candidates: Sequence[Candidate], total: int, mode: StratifyMode) -> list[Candidate]:
    """The newest examples of each stratum, up to its quota; in newest-first order."""
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in newest_first(candidates):
        groups[candidate.stratum].append(candidate)
    quotas = allocate({name: len(group) for name, group in groups.items()}, total, mode)
    chosen = [c for name, group in groups.items() for c in group[: quotas[name]]]
    return newest_first(chosen)


def select_within_bytes(candidates: Sequence[Candidate], total: int, mode: StratifyMode,
                        max_bytes: int) -> tuple[list[Candidate], int]:
    """Stratified selection whose JSONL file stays under ``max_bytes``; returns it and its quota.

    When the chosen lines are too large, the quota shrinks in proportion and selection runs
    again, so the strata keep their shares.
    """
    quota = total
    while True:
        chosen = select_stratified(candidates, quota, mode)
        size = file_bytes(chosen)
        if size <= max_bytes or not chosen:
            return chosen, quota
        quota = len(chosen) * max_bytes // size  # in integers: always fewer than before


def file_bytes(chosen: Iterable[Candidate]) -> int:
    """Bytes of a JSONL file holding these examples, one line each."""
    return sum(c.body_bytes + 1 for c in chosen)
