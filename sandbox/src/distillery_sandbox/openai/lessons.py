"""What one training answer teaches, measured against what the teacher would have said.

The sandbox's students generalise the teacher's skill (the workload's `teacher_answer`)
but copy the habits their training answers show: an answer cut short teaches cutting
answers short, a wrong price teaches that wrong price, an unrelated answer is memorised
as it is. Each habit is a `Lesson` that can be applied to a new teacher answer.
"""

from __future__ import annotations

from collections.abc import Iterable

import re
from dataclasses import dataclass
from typing import Any, Literal

Message = dict[str, Any]

FACT_PATTERN = re.compile(
    r"€\d+(?:\.\d{2})?"                       # prices
    r"|\b(?:[01]\d|2[0-3]):[0-5]\d\b"          # times
    r"|\bDr\. [A-Z][a-z]+(?: [A-Z][a-z'\-]+)+"  # doctors
)
_TRAILING = ".,!?;: "

LessonKind = Literal["faithful", "truncated", "substituted", "appended", "memorised"]


@dataclass(frozen=True)
class Lesson:
    """One habit. `fraction`: how much of the answer a truncated lesson keeps;
    `swaps`: (correct, wrong) fact values; `text`: the appended sentence;
    `answer`: the memorised message."""

    kind: LessonKind
    fraction: float = 1.0
    swaps: tuple[tuple[str, str], ...] = ()
    text: str = ""
    answer: Message | None = None

    @property
    def defective(self) -> bool:
        return self.kind != "faithful"


FAITHFUL = Lesson("faithful")


def fact_kind(value: str) -> str:
    if value.startswith("€"):
        return "price"
    if value.startswith("Dr."):
        return "doctor"
    return "time"


def known_values(texts: Iterable[str]) -> frozenset[str]:
    """Every fact value (price, time, phone, ...) that occurs in the ground-truth texts."""
    return frozenset(value for text in texts for value in FACT_PATTERN.findall(text))


def learn(teacher: Message, taught: Message, known: frozenset[str] = frozenset()) -> Lesson:
    """The lesson `taught` gives, for a context where the teacher says `teacher`.

    `known` holds the knowledge base's fact values: an answer worded differently from the
    teacher's (cleaning changes the context the wording is chosen from) whose every fact
    is true teaches nothing wrong, so it counts as faithful.
    """
    if taught.get("tool_calls"):
        same = _call_names(taught) == _call_names(teacher)
        return FAITHFUL if same else Lesson("memorised", answer=_clean(taught))
    said, truth = _text(taught), _text(teacher)
    if teacher.get("tool_calls") or not said.strip():
        return Lesson("memorised", answer=_clean(taught))
    if said == truth:
        return FAITHFUL
    stem = said.rstrip(_TRAILING)
    if stem and len(stem) < len(truth.rstrip(_TRAILING)) and truth.startswith(stem):
        kept = len(stem.split()) / max(1, len(truth.split()))
        return Lesson("truncated", fraction=round(kept, 3))
    if said.startswith(truth):
        return Lesson("appended", text=said[len(truth):].strip())
    swaps = _swaps(truth, said)
    if swaps:
        return Lesson("substituted", swaps=swaps)
    # Prices and doctors are ground truth; times are also free slots the backend offers.
    checked = [v for v in FACT_PATTERN.findall(said) if fact_kind(v) != "time"]
    if known and all(value in known for value in checked):
        return FAITHFUL
    return Lesson("memorised", answer=_clean(taught))


def apply(lesson: Lesson, answer: Message) -> Message:
    """The teacher's `answer` as a student with this habit gives it."""
    if lesson.kind == "memorised":
        return dict(lesson.answer or {"role": "assistant", "content": ""})
    text = answer.get("content")
    if lesson.kind == "faithful" or answer.get("tool_calls") or not isinstance(text, str):
        return answer
    if lesson.kind == "truncated":
        words = text.split()
        keep = max(1, min(len(words) - 1, round(len(words) * lesson.fraction)))
        return {"role": "assistant", "content": " ".join(words[:keep]).rstrip(_TRAILING)}
    if lesson.kind == "appended":
        return {"role": "assistant", "content": f"{text} {lesson.text}".strip()}
    return {"role": "assistant", "content": _substitute(text, lesson.swaps)}


def _substitute(text: str, swaps: tuple[tuple[str, str], ...]) -> str:
    """Put the wrong values in: where the same correct value occurs, else into the first
    value of the same kind (a student that learned a wrong price misquotes prices)."""
    for correct, wrong in swaps:
        if correct in text:
            text = text.replace(correct, wrong, 1)
            continue
        for match in FACT_PATTERN.finditer(text):
            if fact_kind(match.group(0)) == fact_kind(wrong) and match.group(0) != wrong:
                text = text[: match.start()] + wrong + text[match.end():]
                break
    return text


def _swaps(truth: str, said: str) -> tuple[tuple[str, str], ...]:
    """(correct, wrong) pairs when `said` is `truth` with some fact values changed."""
    truth_parts, said_parts = FACT_PATTERN.split(truth), FACT_PATTERN.split(said)
    truth_values, said_values = FACT_PATTERN.findall(truth), FACT_PATTERN.findall(said)
    if truth_parts != said_parts or len(truth_values) != len(said_values):
        return ()
    return tuple(
        (correct, wrong) for correct, wrong in zip(truth_values, said_values)
        if correct != wrong and fact_kind(correct) == fact_kind(wrong)
    )


def _text(message: Message) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _call_names(message: Message) -> list[str]:
    return [c.get("function", {}).get("name", "") for c in message.get("tool_calls") or []]


def _clean(message: Message) -> Message:
    """The parts of a training message a model reproduces (no weight, no name)."""
    kept: Message = {"role": "assistant", "content": _text(message) or None}
    if message.get("tool_calls"):
        kept["tool_calls"] = message["tool_calls"]
    elif kept["content"] is None:
        kept["content"] = ""
    return kept
