"""How well the cleaner finds personal data, on the labelled caller utterances it ships.

``pii_eval/first_half.jsonl`` was committed before the detection was tuned and
``second_half.jsonl`` after it was written; both hold one utterance a line: ``text``,
``spans`` [{start, end, type}] that must be redacted, ``must_keep`` [{start, end, kind}]
that must survive (times, prices, booking references, the clinic's published facts),
``form`` (spoken/typed) and ``domain`` (clinic/support). The clinic's allow list is
``pii_eval/clinic_allow.json``.

A labelled value counts as found when the redactions cover all of its digits and at least
``LETTERS_COVERED`` of its letters (whatever kind they were given: it is gone either way);
filler words a label may include ("on the ...") are what the letter share allows for. A
redaction is correct when it overlaps a labelled value. A kept text survives when none
of its characters is redacted.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from distillery_cleaner.domain.config import PiiConfig
from distillery_cleaner.domain.pii import Found, PiiRedactor

DATA = Path(__file__).parent / "pii_eval"
HALVES = {"first": ("first_half.jsonl",), "all": ("first_half.jsonl", "second_half.jsonl")}
LETTERS_COVERED = 0.8
RECALL_TARGETS = {"CARD": 0.95, "IBAN": 0.95, "EMAIL": 0.95, "PHONE": 0.95, "SSN": 0.95, "NINO": 0.95,
                  "PERSON": 0.90, "DATE_OF_BIRTH": 0.90, "ADDRESS": 0.90}
PRECISION_TARGET = 0.95
SURVIVAL_TARGET = 0.98
STAYS_TARGET = 0.95


@dataclass(frozen=True)
class Utterance:
    text: str
    spans: tuple[tuple[int, int, str], ...]
    must_keep: tuple[tuple[int, int, str], ...]
    form: str
    domain: str


@dataclass
class Evaluation:
    """Counts of one run over the set, and the targets they are held to."""

    utterances: int = 0
    labelled: Counter[str] = field(default_factory=Counter)
    recalled: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    survived: Counter[str] = field(default_factory=Counter)
    stayed: int = 0
    misses: list[str] = field(default_factory=list)
    """Each missed value, wrong redaction and lost kept text, as ``kind: 'text'`` (for tuning)."""

    def recall(self, kind: str) -> float:
        return self.recalled[kind] / self.labelled[kind] if self.labelled[kind] else 1.0

    def precision(self, kind: str | None = None) -> float:
        total = self.redactions[kind] if kind else sum(self.redactions.values())
        correct = self.correct[kind] if kind else sum(self.correct.values())
        return correct / total if total else 1.0

    def survival(self, kind: str) -> float:
        return self.survived[kind] / self.kept[kind] if self.kept[kind] else 1.0

    @property
    def stays(self) -> float:
        return self.stayed / self.utterances if self.utterances else 1.0

    def failures(self) -> list[str]:
        """Every target missed, one line each (none: the detection is good enough to ship)."""
        out = [f"recall of {kind} {self.recall(kind):.3f} < {target}"
               for kind, target in RECALL_TARGETS.items() if self.labelled[kind] and self.recall(kind) < target]
        if self.precision() < PRECISION_TARGET:
            out.append(f"precision {self.precision():.3f} < {PRECISION_TARGET}")
        out += [f"survival of {kind} {self.survival(kind):.3f} < {SURVIVAL_TARGET}"
                for kind in sorted(self.kept) if self.survival(kind) < SURVIVAL_TARGET]
        if self.stays < STAYS_TARGET:
            out.append(f"utterances kept as examples {self.stays:.3f} < {STAYS_TARGET}")
        return out


def load_utterances(half: Literal["first", "all"]) -> list[Utterance]:
    rows = []
    for name in HALVES[half]:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                rows.append(Utterance(
                    raw["text"], tuple((s["start"], s["end"], s["type"]) for s in raw["spans"]),
                    tuple((k["start"], k["end"], k["kind"]) for k in raw["must_keep"]), raw["form"], raw["domain"]))
    return rows


def clinic_config(ner: bool = True) -> PiiConfig:
    """The default PII rules with the evaluation clinic's allow list."""
    allow = json.loads((DATA / "clinic_allow.json").read_text(encoding="utf-8"))["allow"]
    return PiiConfig(allow=tuple(allow), ner=ner)


def evaluate(utterances: list[Utterance], config: PiiConfig) -> Evaluation:
    redactor = PiiRedactor(config)
    result = Evaluation(utterances=len(utterances))
    for utterance, found in zip(utterances, redactor.find_many([u.text for u in utterances]), strict=True):
        _score(utterance, found, result)
        result.stayed += not config.drops(f.kind for f in found)
    return result


def _score(utterance: Utterance, found: list[Found], result: Evaluation) -> None:
    text = utterance.text
    covered = [False] * len(text)
    for f in found:
        covered[f.start:f.end] = [True] * (f.end - f.start)
    for start, end, kind in utterance.spans:
        result.labelled[kind] += 1
        digits = [i for i in range(start, end) if text[i].isdigit()]
        letters = [i for i in range(start, end) if text[i].isalpha()]
        if all(covered[i] for i in digits) and sum(covered[i] for i in letters) >= LETTERS_COVERED * len(letters):
            result.recalled[kind] += 1
        else:
            result.misses.append(f"missed {kind}: {text[start:end]!r} in {text!r}")
    for f in found:
        result.redactions[f.kind] += 1
        if any(f.start < end and start < f.end for start, end, _ in utterance.spans):
            result.correct[f.kind] += 1
        else:
            result.misses.append(f"wrong {f.kind}: {text[f.start:f.end]!r} in {text!r}")
    for start, end, kind in utterance.must_keep:
        result.kept[kind] += 1
        if not any(covered[start:end]):
            result.survived[kind] += 1
        else:
            result.misses.append(f"lost {kind}: {text[start:end]!r} in {text!r}")
