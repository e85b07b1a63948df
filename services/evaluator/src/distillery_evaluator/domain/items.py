"""Each prompt of a finished run as ``EvaluationItemScored``: every model's answer with its
verdicts, for reading a run answer by answer (the console) without the evaluator's tables."""

from __future__ import annotations

from datetime import datetime

from distillery_contracts.evaluations import AnswerVerdict, EvaluationItemScored, JudgeOutcome
from distillery_evaluator.domain.evalset import EvalItem, message_text
from distillery_evaluator.domain.results import (
    CANDIDATE,
    EMBEDDING,
    HALLUCINATION_SCORERS,
    JUDGE,
    PRODUCTION,
    TEACHER,
    Answer,
)
from distillery_evaluator.domain.runs import RunSummary

ROLE_ORDER = (TEACHER, PRODUCTION, CANDIDATE)
"""The reference first, then what serves today, then what is tried."""


def scored_items(summary: RunSummary, scored_at: datetime) -> list[EvaluationItemScored]:
    """One event per item that has an answer, in the run's item order."""
    request = summary.request
    events = []
    for position, item in enumerate(summary.items.values()):
        answers = [a for a in summary.answers if a.item_id == item.item_id]
        if not answers:
            continue
        ordered = sorted(answers, key=lambda a: (ROLE_ORDER.index(a.role) if a.role in ROLE_ORDER else 99, a.role))
        events.append(EvaluationItemScored(
            run_id=request.run_id, item_id=item.item_id, position=position, eval_set=item.set_name,
            cycle_id=request.cycle_id, candidate_model=request.candidate.model, prompt=prompt_text(item),
            answers=[verdict(summary, a) for a in ordered], scored_at=scored_at))
    return events


def prompt_text(item: EvalItem) -> str:
    """The conversation the models answered, the system prompt left out (it is every item's)."""
    return "\n".join(f"{m.get('role', '?')}: {message_text(m)}" for m in item.messages if m.get("role") != "system")


def verdict(summary: RunSummary, answer: Answer) -> AnswerVerdict:
    item, role = answer.item_id, answer.role
    checks = [s for s in (summary.score(item, role, name) for name in HALLUCINATION_SCORERS)
              if s is not None and s.value is not None]
    judge = summary.score(item, role, JUDGE)
    similarity = summary.score(item, role, EMBEDDING)
    findings = [str(f) for c in checks for f in c.detail.get("findings", [])]
    reasons = [str(r) for r in (judge.detail.get("reasons", []) if judge else []) if r]
    return AnswerVerdict(
        role=role, model=answer.model, text=answer.text if answer.ok else None, error=answer.error,
        hallucinated=any(c.value is not None and c.value >= 0.5 for c in checks) if checks else None,
        fact_check="; ".join(findings) or None,
        judge_outcome=JudgeOutcome(judge.label) if judge and judge.value is not None and judge.label else None,
        judge_reason=" / ".join(reasons) or None,
        similarity=similarity.value if similarity and similarity.value is not None else None)
