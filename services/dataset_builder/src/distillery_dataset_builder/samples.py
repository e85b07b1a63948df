"""Synthetic accepted examples shaped like a clinic's voice calls, for tests and benchmarks.

Each call (session) has several turns; the example of turn k carries the system prompt,
the k caller turns and the assistant's earlier answers (weight 0) and ends with the
answer being taught (weight 1), as the cleaner produces them. Texts are drawn from a
seeded vocabulary, so different calls are not near-duplicates of each other, and the
same arguments always give the same examples.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from distillery_contracts.examples import ExampleAccepted, Lineage, derive_example_id
from distillery_contracts.messages import FineTuneMessage

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
INTENTS = ("booking", "rescheduling", "cancelling", "opening_hours", "prices")
CLEANER_VERSION = "0.1.0"
CONFIG_HASH = "cfg-demo"


def _vocabulary(seed: int, size: int = 4_000) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(size)]


def _sentence(rng: random.Random, words: list[str], count: int) -> str:
    return " ".join(rng.choice(words) for _ in range(count)).capitalize() + "."


def synthetic_calls(sessions: int, *, turns: int = 5, seed: int = 7, start: datetime = T0,
                    system_words: int = 60, user_words: int = 12, assistant_words: int = 18,
                    cleaner_version: str = CLEANER_VERSION, config_hash: str = CONFIG_HASH,
                    session_prefix: str = "call") -> Iterator[ExampleAccepted]:
    """``sessions`` calls of ``turns`` turns each: one example per turn, oldest call first."""
    words = _vocabulary(seed)
    rng = random.Random(seed + 1)
    system = "You are the voice assistant of Riverside Clinic. " + _sentence(rng, words, system_words)
    for number in range(sessions):
        session = f"{session_prefix}-{number:06d}"
        intent = INTENTS[rng.randrange(len(INTENTS))]
        began = start + timedelta(minutes=3 * number)
        history: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for turn in range(turns):
            history.append({"role": "user", "content": _sentence(rng, words, user_words)})
            answer = {"role": "assistant", "content": _sentence(rng, words, assistant_words)}
            yield _example(session, turn, intent, began + timedelta(seconds=20 * turn), [*history, answer],
                           cleaner_version, config_hash)
            history.append({**answer, "weight": 0})


def _example(session: str, turn: int, intent: str, at: datetime, messages: list[dict[str, Any]],
             cleaner_version: str, config_hash: str) -> ExampleAccepted:
    observation = f"obs-{session}-{turn:03d}"
    return ExampleAccepted(
        example_id=derive_example_id(observation, cleaner_version, config_hash),
        cleaner_version=cleaner_version,
        config_hash=config_hash,
        messages=[FineTuneMessage.model_validate({**m, "weight": 1} if i == len(messages) - 1 else m)
                  for i, m in enumerate(messages)],
        lineage=Lineage(project_id="clinic", observation_id=observation, trace_id=f"tr-{session}-{turn:03d}",
                        session_id=session, captured_at=at, model="gpt-4.1-2025-04-14"),
        tags=[f"intent:{intent}"],
        intent=intent,
        token_count=sum(len(str(m.get("content", "")).split()) for m in messages) * 2,
        accepted_at=at + timedelta(minutes=5),
    )
