"""Answer by answer: which items fail, and where a student's words differ from the teacher's."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from distillery_contracts.evaluations import EvaluationItemScored, JudgeOutcome

_WORDS = re.compile(r"\s+|\S+\s*")


def is_failing(item: EvaluationItemScored) -> bool:
    """An item the candidate got wrong: hallucinated, lost to the teacher, or no answer."""
    candidate = next((a for a in item.answers if a.role == "candidate"), None)
    if candidate is None:
        return False
    return (candidate.hallucinated is True or candidate.judge_outcome is JudgeOutcome.LOSS
            or candidate.error is not None)


@dataclass(frozen=True)
class Segment:
    """A run of an answer's text; ``changed`` when the teacher did not say it."""

    text: str
    changed: bool


def diff_against(reference: str | None, answer: str | None) -> list[Segment]:
    """``answer`` in word runs, those absent from ``reference`` marked (text only, never markup)."""
    if answer is None:
        return []
    if reference is None:
        return [Segment(answer, False)]
    ref, words = _WORDS.findall(reference), _WORDS.findall(answer)
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=ref, b=words, autojunk=False)
    for op, _, _, j1, j2 in matcher.get_opcodes():
        if j1 == j2:
            continue
        text = "".join(words[j1:j2])
        changed = op != "equal"
        if segments and segments[-1].changed == changed:
            segments[-1] = Segment(segments[-1].text + text, changed)
        else:
            segments.append(Segment(text, changed))
    return segments
