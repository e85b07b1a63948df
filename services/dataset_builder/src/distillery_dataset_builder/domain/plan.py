"""The whole selection of a build, from candidates to the examples of each split.

1. keep the newest examples of each session (cap);
2. split by session (see ``split``);
3. leave out every train-side example that is a near-duplicate of an evaluation example:
   the golden set, earlier validation splits, and this build's validation side;
4. choose each side's examples, stratified and newest first: validation gets its
   fraction of the target (at least the provider's minimum), train the rest, each within
   the provider's file-size limit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from distillery_dataset_builder.domain.neardup import NO_MATCH, NearDuplicateIndex
from distillery_dataset_builder.domain.selection import (
    Candidate,
    StratifyMode,
    cap_per_session,
    select_within_bytes,
)
from distillery_dataset_builder.domain.split import split_by_session

GOLDEN_SET = "golden_set"
PREVIOUS_VALIDATION = "previous_validation"
VALIDATION_SPLIT = "validation_split"


@dataclass(frozen=True)
class SelectionRules:
    """The parameters selection follows."""

    target_size: int
    max_per_session: int | None
    stratify_mode: StratifyMode
    validation_fraction: float
    near_duplicate_threshold: float
    min_examples: int
    """Fewest examples the provider accepts in a file (applies to each split)."""
    max_file_bytes: int


@dataclass(frozen=True)
class EvaluationSet:
    """Signatures of what models are judged on, which training data must not copy."""

    golden: np.ndarray
    previous_validation: np.ndarray
    held_out_sessions: frozenset[str] = frozenset()
    """Sessions of earlier validation splits: they stay on the validation side."""


@dataclass
class SelectionPlan:
    """The examples chosen for each split and how many fell out at each step."""

    train: list[Candidate]
    validation: list[Candidate]
    candidates: int
    dropped_by_session_cap: int
    excluded: dict[str, int] = field(default_factory=dict)
    """Train-side examples left out as near-duplicates, by the evaluation source they copy."""
    train_quota: int = 0
    size_limited: bool = False
    """True when the file-size limit, not the target, set the train split's size."""

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


def plan_selection(candidates: Sequence[Candidate], signatures: np.ndarray, evaluation: EvaluationSet,
                   rules: SelectionRules) -> SelectionPlan:
    """Choose the examples of a build; ``signatures`` row i belongs to ``candidates[i]``."""
    row_of = {c.example_id: i for i, c in enumerate(candidates)}
    capped = cap_per_session(candidates, rules.max_per_session)
    sides = split_by_session(capped, rules.validation_fraction, min_validation=rules.min_examples,
                             held_out=evaluation.held_out_sessions)
    index = NearDuplicateIndex.of(
        [(GOLDEN_SET, evaluation.golden), (PREVIOUS_VALIDATION, evaluation.previous_validation),
         (VALIDATION_SPLIT, _rows(signatures, row_of, sides.validation))],
        rules.near_duplicate_threshold,
    )
    matched = index.match(_rows(signatures, row_of, sides.train))
    train_pool = [c for c, m in zip(sides.train, matched, strict=True) if m == NO_MATCH]
    excluded = {name: int(np.count_nonzero(matched == i)) for i, name in enumerate(index.source_names)}

    validation_quota = max(rules.min_examples, round(rules.target_size * rules.validation_fraction))
    validation, _ = select_within_bytes(sides.validation, min(validation_quota, rules.target_size),
                                        rules.stratify_mode, rules.max_file_bytes)
    train_quota = max(0, rules.target_size - len(validation))
    train, quota = select_within_bytes(train_pool, train_quota, rules.stratify_mode, rules.max_file_bytes)
    return SelectionPlan(
        train=train,
        validation=validation,
        candidates=len(candidates),
        dropped_by_session_cap=len(candidates) - len(capped),
        excluded=excluded,
        train_quota=train_quota,
        size_limited=quota < train_quota,
    )


def _rows(signatures: np.ndarray, row_of: dict[str, int], chosen: Collection[Candidate]) -> np.ndarray:
    return signatures[[row_of[c.example_id] for c in chosen]] if chosen else signatures[:0]

