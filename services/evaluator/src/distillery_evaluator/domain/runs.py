"""What an offline run knows as it goes, and the pure steps from it to its verdict.

The run itself (asking the models, storing as it goes) is the use case in services.py;
this is what it decides without I/O: failure shares, aggregation into gates, and the
EvaluationCompleted it publishes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from distillery_contracts.evaluations import EvalOutcome, EvalSetRef, EvaluationCompleted
from distillery_evaluator.domain.evalset import EvalItem, EvalSet, message_text
from distillery_evaluator.domain.gates import GateConfig, GateReport, evaluate_gates
from distillery_evaluator.domain.metrics import CostFn, RoleStats, role_stats
from distillery_evaluator.domain.requests import RunRequest
from distillery_evaluator.domain.results import TEACHER, Answer, ItemScore


@dataclass
class RunSummary:
    """Everything a finished (or failed) run knows, for the report and the event."""

    request: RunRequest
    outcome: EvalOutcome
    eval_sets: list[EvalSetRef] = field(default_factory=list)
    items: dict[str, EvalItem] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    scores: list[ItemScore] = field(default_factory=list)
    roles: dict[str, RoleStats] = field(default_factory=dict)
    gates: GateReport | None = None
    scorers_ran: list[str] = field(default_factory=list)
    skipped_scorers: list[str] = field(default_factory=list)
    error: str | None = None

    def answer(self, item_id: str, role: str) -> Answer | None:
        return next((a for a in self.answers if a.item_id == item_id and a.role == role), None)

    def score(self, item_id: str, role: str, scorer: str) -> ItemScore | None:
        return next((s for s in self.scores
                     if s.item_id == item_id and s.role == role and s.scorer == scorer), None)


def answer_text(content: str | None, tool_calls: list[dict[str, Any]] | None) -> str:
    """An answer's text, tool calls rendered so they compare with a reference."""
    return message_text({"content": content, "tool_calls": tool_calls})


def set_refs(items: list[EvalItem]) -> list[EvalSetRef]:
    """The eval sets a run used, in the order of its items, with their versions."""
    names = list(dict.fromkeys(i.set_name for i in items))
    return [EvalSetRef(name=n, version=EvalSet.of(n, [i for i in items if i.set_name == n]).version,
                       size=sum(1 for i in items if i.set_name == n)) for n in names]


def too_many_failures(request: RunRequest, answers: list[Answer], max_share: float) -> str | None:
    """Why the run cannot be judged: a model that failed more than ``max_share`` of its prompts."""
    for role, target in request.roles().items():
        mine = [a for a in answers if a.role == role]
        failed = [a for a in mine if not a.ok]
        if mine and len(failed) / len(mine) > max_share:
            return (f"{role} model {target.model} failed {len(failed)} of {len(mine)} prompts "
                    f"after retries (allowed share {max_share:g}); last error: {failed[-1].error}")
    return None


def aggregate(summary: RunSummary, cost_of: CostFn, gates: GateConfig) -> None:
    """Each role's metrics, the gates on them and the outcome, into ``summary``."""
    for role, target in summary.request.roles().items():
        summary.roles[role] = role_stats(
            role, target.model, [a for a in summary.answers if a.role == role],
            [s for s in summary.scores if s.role == role], cost_of, gates.confidence)
    summary.gates = evaluate_gates(summary.roles, set(summary.scorers_ran), gates)
    summary.outcome = summary.gates.outcome


def completed_event(summary: RunSummary, report_uri: str | None) -> EvaluationCompleted:
    """The verdict every other service reads."""
    r = summary.request
    production = next((t.model for role, t in r.roles().items()
                       if role not in ("candidate", TEACHER)), None)
    return EvaluationCompleted(
        run_id=r.run_id, candidate_model=r.candidate.model, candidate_provider=r.candidate.provider,
        teacher_model=r.teacher.model,
        production_model=production, job_id=r.job_id, dataset_id=r.dataset_id, cycle_id=r.cycle_id,
        eval_sets=summary.eval_sets, outcome=summary.outcome, error_message=summary.error,
        gates=summary.gates.gates if summary.gates else [],
        metrics={s.model: s.metrics for s in summary.roles.values()},
        scorers_ran=summary.scorers_ran, report_uri=report_uri, completed_at=datetime.now(UTC))


def run_notes(summary: RunSummary) -> dict[str, Any]:
    """What the event does not carry but `distillery eval show` tells: what was not evaluated."""
    return {"skipped_gates": summary.gates.skipped if summary.gates else [],
            "skipped_scorers": summary.skipped_scorers,
            "roles": {role: s.model for role, s in summary.roles.items()}}
