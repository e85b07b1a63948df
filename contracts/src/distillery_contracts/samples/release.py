"""Sample events of the release side: evaluations, rollout, routing and dead letters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from distillery_contracts.common import Comparator, GateResult, ModelMetrics
from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.evaluations import CallScored, EvaluationCompleted, EvaluationItemScored, JudgeOutcome
from distillery_contracts.rollout import RolloutDecided, RolloutDecision
from distillery_contracts.routing import RouteArm, RouteTableUpdated
from distillery_contracts.samples.pipeline import STUDENT, T0, TEACHER


def sample_gate(**overrides: Any) -> GateResult:
    fields = {
        "name": "hallucination",
        "metric": "hallucination_rate",
        "model": STUDENT,
        "value": 0.012,
        "threshold": 0.031,
        "comparator": Comparator.LE,
        "passed": True,
        "ci_low": 0.006,
        "ci_high": 0.021,
        "n": 600,
        "detail": "teacher 0.021 + margin 0.01",
    }
    return GateResult.model_validate({**fields, **overrides})


def sample_metrics(**overrides: Any) -> ModelMetrics:
    fields = {
        "n": 600,
        "hallucination_rate": 0.012,
        "hallucination_ci_low": 0.006,
        "hallucination_ci_high": 0.021,
        "win_rate": 0.31,
        "tie_rate": 0.45,
        "loss_rate": 0.24,
        "similarity_mean": 0.91,
        "latency_p50_ms": 410.0,
        "latency_p95_ms": 780.0,
        "error_rate": 0.002,
        "cost_per_call_usd": 0.0011,
    }
    return ModelMetrics.model_validate({**fields, **overrides})


def sample_evaluation_completed(**overrides: Any) -> EvaluationCompleted:
    fields = {
        "run_id": "eval-0007",
        "candidate_model": STUDENT,
        "teacher_model": TEACHER,
        "production_model": None,
        "job_id": "job-0007",
        "dataset_id": "ds-0007",
        "cycle_id": "cycle-0007",
        "eval_sets": [
            {"name": "golden", "version": "g-3", "size": 300},
            {"name": "validation", "version": "ds-0007", "size": 300},
        ],
        "outcome": "passed",
        "gates": [sample_gate()],
        "metrics": {STUDENT: sample_metrics(), TEACHER: sample_metrics(hallucination_rate=0.021)},
        "scorers_ran": ["deterministic", "judge", "embedding", "latency"],
        "report_uri": "file:///var/lib/distillery/reports/eval-0007.md",
        "completed_at": T0 + timedelta(hours=22),
    }
    return EvaluationCompleted.model_validate({**fields, **overrides})


def sample_evaluation_item_scored(**overrides: Any) -> EvaluationItemScored:
    fields = {
        "run_id": "eval-0007",
        "item_id": "golden-0042",
        "position": 41,
        "eval_set": "golden",
        "cycle_id": "cycle-0007",
        "candidate_model": STUDENT,
        "prompt": "user: Can I see Dr Okafor on Thursday morning?",
        "answers": [
            {"role": "teacher", "model": TEACHER, "text": "Dr Okafor has 9:30 free on Thursday."},
            {"role": "candidate", "model": STUDENT, "text": "Dr Okafor has 9:30 and 11:00 free on Thursday.",
             "hallucinated": True, "fact_check": "11:00 is not among the slots the tool returned",
             "judge_outcome": "loss", "judge_reason": "invents a slot", "similarity": 0.81},
        ],
        "trace_id": "tr-0042",
        "scored_at": T0 + timedelta(hours=21),
    }
    return EvaluationItemScored.model_validate({**fields, **overrides})


def sample_call_scored(**overrides: Any) -> CallScored:
    fields = {
        "observation_id": "obs-9001",
        "trace_id": "tr-9001",
        "session_id": "call-91b2",
        "rollout_id": "ro-0007",
        "stage_index": 1,
        "arm": "candidate",
        "model": STUDENT,
        "hallucinated": False,
        "hallucination_score": 0.02,
        "judge_outcome": JudgeOutcome.TIE,
        "similarity": 0.93,
        "latency_ms": 402.0,
        "time_to_first_token_ms": 150.0,
        "error": False,
        "cost_usd": 0.0011,
        "scored_at": T0 + timedelta(days=2),
    }
    return CallScored.model_validate({**fields, **overrides})


def sample_rollout_decided(**overrides: Any) -> RolloutDecided:
    fields = {
        "decision_id": "ro-0007:1:advanced",
        "rollout_id": "ro-0007",
        "cycle_id": "cycle-0007",
        "candidate_model": STUDENT,
        "previous_model": None,
        "teacher_model": TEACHER,
        "stage_index": 1,
        "stage_percent": 25.0,
        "decision": RolloutDecision.ADVANCED,
        "reason": "every gate held at n=412",
        "actor": "rollout-controller",
        "weights": {"candidate": 25.0, "teacher": 75.0},
        "arm_metrics": {"candidate": sample_metrics(n=412), "teacher": sample_metrics(n=1240)},
        "gates": [sample_gate()],
        "decided_at": T0 + timedelta(days=2, hours=6),
    }
    return RolloutDecided.model_validate({**fields, **overrides})


def sample_route_table(**overrides: Any) -> RouteTableUpdated:
    fields = {
        "route": "clinic-voice",
        "version": 3,
        "rollout_id": "ro-0007",
        "arms": [
            RouteArm(
                name="candidate",
                model=STUDENT,
                provider="azure",
                deployment="clinic-student-0007",
                weight=25.0,
            ),
            RouteArm(
                name="teacher", model=TEACHER, provider="azure", deployment="gpt-41", weight=75.0
            ),
        ],
        "updated_at": T0 + timedelta(days=2, hours=6),
    }
    return RouteTableUpdated.model_validate({**fields, **overrides})


def sample_dead_lettered(**overrides: Any) -> DeadLettered:
    fields = {
        "error_type": "InvalidPayload",
        "error_message": "TraceCaptured v1 is invalid: start_time: Field required",
        "source_topic": "distillery.traces.raw.v1",
        "partition": 4,
        "offset": 18233,
        "consumer_group": "cleaner",
        "attempts": 5,
        "failed_at": T0 + timedelta(minutes=9),
        "original_key": "call-7f3a",
        "original_headers": {"event-type": "TraceCaptured", "schema-version": "1"},
        "original_value": '{"observation_id": "obs-0003"}',
    }
    return DeadLettered.model_validate({**fields, **overrides})
