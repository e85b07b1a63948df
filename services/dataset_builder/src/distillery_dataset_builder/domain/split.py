"""Train/validation split by session: a call is wholly on one side, in every dataset.

A session goes to validation when the hash of its id falls below the validation
fraction, so the same call lands on the same side in every build. Two additions keep the
held-out set honest and usable:

- a session that was in any earlier dataset's validation split stays in validation, so
  a later dataset never trains on what an earlier model was judged by;
- when the hashed sessions hold fewer examples than the provider's minimum, the sessions
  with the next-lowest hashes join them. That top-up depends only on the candidates, so
  a rebuild over the same examples repeats it exactly.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from distillery_dataset_builder.domain.selection import Candidate

SPLIT_SALT = b"distillery-split-v1\x1f"
_SCALE = float(2**64)


def session_position(session_key: str) -> float:
    """Where a session falls in [0, 1): a stable hash of its id."""
    digest = hashlib.sha256(SPLIT_SALT + session_key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


@dataclass(frozen=True)
class Sides:
    """The candidates divided by session into the two sides of the split."""

    train: list[Candidate]
    validation: list[Candidate]
    validation_sessions: frozenset[str]


def split_by_session(candidates: Sequence[Candidate], fraction: float, *, min_validation: int,
                     held_out: Collection[str] = frozenset()) -> Sides:
    """Divide ``candidates``; see the module docstring for the rule."""
    sessions = Counter(c.session_key for c in candidates)
    position = {s: session_position(s) for s in sessions}
    hashed = {s for s in sessions if position[s] < fraction}
    topped_up = set(hashed)
    count = sum(sessions[s] for s in hashed)
    for session in sorted(set(sessions) - hashed, key=lambda s: (position[s], s)):
        if count >= min_validation:
            break
        topped_up.add(session)
        count += sessions[session]
    validation_sessions = frozenset(topped_up | (set(held_out) & set(sessions)))
    return Sides(
        train=[c for c in candidates if c.session_key not in validation_sessions],
        validation=[c for c in candidates if c.session_key in validation_sessions],
        validation_sessions=validation_sessions,
    )
