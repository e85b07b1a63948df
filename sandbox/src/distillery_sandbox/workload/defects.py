"""The defects production traffic has, injected on purpose and recorded as ground truth."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, fields

from distillery_sandbox.workload.intents import classify_intent, extract_slots
from distillery_sandbox.workload.knowledge import KnowledgeBase

DEFECT_KINDS = ("cut", "truncated", "error", "hallucination", "near_duplicate", "pii", "other_model")

ERROR_MESSAGES = (
    "upstream timeout",
    "upstream timeout after 30s",
    "502 Bad Gateway from upstream",
    "connection reset by peer",
    "provider returned 503 Service Unavailable",
)

_FAKE_DOCTORS = ("Dr. Helen Carter", "Dr. Mark Sheridan", "Dr. Louise Fallon")


@dataclass(frozen=True)
class DefectRates:
    """How often each defect is injected; every rate is a probability in [0, 1].

    Per generation, at most one of `cut` (the call drops mid-turn: no or empty output,
    and the call ends), `error` (level ERROR with a status message and no output; the
    platform retries the turn), `truncated` (the answer stops mid-sentence at
    max_tokens) and `hallucination` (a wrong price, time or doctor, flagged by a
    `hallucination` score of 1.0), so these four must add up to at most 1. `truncated`
    and `hallucination` only hit text answers (a tool call cannot be cut mid-sentence or
    misquote a price): their rate is per text answer. `other_model`: per generation,
    independent of the rest. Per call: `near_duplicate` (the call repeats an earlier
    call with tiny wording changes) and `pii` (the caller speaks a phone number, email,
    card number or IBAN; drawn for original calls only, duplicates carry none).
    """

    cut: float = 0.0
    truncated: float = 0.0
    error: float = 0.0
    hallucination: float = 0.0
    near_duplicate: float = 0.0
    pii: float = 0.0
    other_model: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"defect rate {field.name}={value!r} must be between 0 and 1")
        exclusive = self.cut + self.error + self.truncated + self.hallucination
        if exclusive > 1.0 + 1e-9:
            raise ValueError(
                "cut + error + truncated + hallucination must not exceed 1 "
                f"(got {exclusive:.3f}): a generation has at most one of them"
            )

    @classmethod
    def typical(cls) -> DefectRates:
        """Rates of the order a busy production voice line shows."""
        return cls(cut=0.02, truncated=0.03, error=0.02, hallucination=0.04,
                   near_duplicate=0.05, pii=0.06, other_model=0.03)

    def draw_turn_defect(self, rng: random.Random, is_text_answer: bool) -> str | None:
        """At most one of cut / error / truncated / hallucination for one generation."""
        u = rng.random()
        for name, applies in (("cut", True), ("error", True),
                              ("truncated", is_text_answer), ("hallucination", is_text_answer)):
            rate = getattr(self, name)
            if u < rate:
                return name if applies else None
            u -= rate
        return None


@dataclass(frozen=True)
class Hallucination:
    """What a hallucinated answer got wrong: the kind of fact, the true and the said value."""

    kind: str
    correct: str | None
    wrong: str


def truncate(text: str, rng: random.Random) -> str:
    """The text cut mid-sentence, as a model stopped by max_tokens leaves it."""
    words = text.split()
    keep = max(2, int(len(words) * rng.uniform(0.35, 0.75)))
    cut = " ".join(words[: min(keep, len(words) - 1)] if len(words) > 2 else words[:1])
    return cut.rstrip(".,!?;:") if cut else text[: max(1, len(text) // 2)]


def hallucinate(kb: KnowledgeBase, text: str, rng: random.Random) -> tuple[str, Hallucination]:
    """The answer with one fact made wrong (or a wrong fact added), and what changed."""
    candidates = []
    candidates += [("price", m) for m in re.finditer(r"€(\d+)", text)]
    candidates += [("time", m) for m in re.finditer(r"\b([01]\d|2[0-3]):([0-5]\d)\b", text)]
    candidates += [("doctor", m) for d in kb.doctors for m in re.finditer(re.escape(d.name), text)]
    if not candidates:
        return _invent(kb, text, rng)
    kind, match = rng.choice(candidates)
    wrong = {"price": _wrong_price, "time": _wrong_time, "doctor": _wrong_doctor}[kind](
        kb, match, rng
    )
    changed = text[: match.start()] + wrong + text[match.end() :]
    return changed, Hallucination(kind, match.group(0), wrong)


def _wrong_price(kb: KnowledgeBase, match: re.Match[str], rng: random.Random) -> str:
    real = {s.price_eur for s in kb.services} | {25}
    old = int(match.group(1))
    options = [old + d for d in (-20, -15, -10, -5, 5, 10, 15, 20, 35) if old + d > 0]
    return f"€{rng.choice([p for p in options if p not in real] or [old + 7])}"


def _wrong_time(kb: KnowledgeBase, match: re.Match[str], rng: random.Random) -> str:
    hour = (int(match.group(1)) + rng.choice((-2, -1, 1, 2))) % 24
    return f"{hour:02d}:{match.group(2)}"


def _wrong_doctor(kb: KnowledgeBase, match: re.Match[str], rng: random.Random) -> str:
    return rng.choice(_FAKE_DOCTORS)


def _invent(kb: KnowledgeBase, text: str, rng: random.Random) -> tuple[str, Hallucination]:
    service = rng.choice(kb.services)
    wrong_price = _wrong_price(kb, re.match(r"€(\d+)", f"€{service.price_eur}"), rng)
    doctor = rng.choice(_FAKE_DOCTORS)
    inventions = (
        (f"By the way, {service.a_name} is only {wrong_price} this month.", "price",
         kb.price_text(service), wrong_price),
        ("We're also open on Sundays from 10:00 to 14:00.", "opening_hours", "closed",
         "10:00 to 14:00"),
        (f"{doctor} also sees patients every day.", "doctor", None, doctor),
    )
    sentence, kind, correct, wrong = rng.choice(inventions)
    return f"{text} {sentence}".strip(), Hallucination(kind, correct, wrong)


_SWAPS = (
    ("I'd like", "I would like"), ("I would like", "I'd like"), ("Hello", "Hi"), ("Hi", "Hello"),
    ("can I", "could I"), ("could I", "can I"), ("please", "if possible"), ("It's", "It is"),
    ("What's", "What is"), ("Thanks", "Thank you"), ("works for me", "suits me"),
)
_FILLERS = ("Um, ", "Hi again, ", "So, ", "Yeah, ")


def perturb_wording(kb: KnowledgeBase, text: str, rng: random.Random) -> str:
    """A near-identical rewording: one small change, same intent, same slots."""
    swaps = [(old, new) for old, new in _SWAPS if old in text]
    changes = ["filler", "punctuation"] + (["swap"] if swaps else [])
    change = rng.choice(changes)
    if change == "swap":
        old, new = rng.choice(swaps)
        candidate = text.replace(old, new, 1)
    elif change == "filler":
        candidate = rng.choice(_FILLERS) + text[:1].lower() + text[1:]
    else:
        candidate = text.rstrip(".?!") + ("?" if text.endswith(".") else ".")
    same = classify_intent(candidate) == classify_intent(text) and extract_slots(
        kb, candidate
    ) == extract_slots(kb, text)
    return candidate if same and candidate != text else text.rstrip(".?!") + "!"


def perturb_call(kb: KnowledgeBase, lines: list[str], rng: random.Random) -> list[str]:
    """A caller's lines again, one or two of them slightly reworded."""
    lines = list(lines)
    if not lines:
        return lines
    count = 1 if len(lines) < 4 else 2
    for index in rng.sample(range(len(lines)), count):
        lines[index] = perturb_wording(kb, lines[index], rng)
    return lines
