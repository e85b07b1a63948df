"""Realistic sample events, at least one per event class, for tests and documentation.

Other packages' tests may build on these (``sample_trace_captured(session_id=...)``:
keyword overrides are validated like any payload) instead of writing payloads by hand.
"""

from __future__ import annotations

from datetime import timedelta

from distillery_contracts import commands
from distillery_contracts.base import Event
from distillery_contracts.privacy import CallerErased, EraseCaller, StoreErasure
from distillery_contracts.samples.pipeline import (
    FIND_SLOT_TOOL,
    STUDENT,
    SYSTEM_PROMPT,
    T0,
    TEACHER,
    sample_dataset_built,
    sample_example_accepted,
    sample_example_rejected,
    sample_finetune_job_changed,
    sample_lineage,
    sample_score,
    sample_trace_captured,
)
from distillery_contracts.samples.release import (
    sample_call_scored,
    sample_dead_lettered,
    sample_evaluation_completed,
    sample_evaluation_item_scored,
    sample_gate,
    sample_metrics,
    sample_rollout_decided,
    sample_route_table,
)
from distillery_contracts.traces import TraceScored

__all__ = [
    "FIND_SLOT_TOOL",
    "STUDENT",
    "SYSTEM_PROMPT",
    "T0",
    "TEACHER",
    "sample_call_scored",
    "sample_dataset_built",
    "sample_dead_lettered",
    "sample_evaluation_completed",
    "sample_evaluation_item_scored",
    "sample_events",
    "sample_example_accepted",
    "sample_example_rejected",
    "sample_finetune_job_changed",
    "sample_gate",
    "sample_lineage",
    "sample_metrics",
    "sample_rollout_decided",
    "sample_route_table",
    "sample_score",
    "sample_trace_captured",
]


def sample_events() -> list[Event]:
    """At least one valid instance of every event class in the registry."""
    who = {"requested_by": "ops@riverside", "requested_at": T0}
    return [
        sample_trace_captured(),
        TraceScored(
            project_id="clinic-prod",
            observation_id="obs-0001",
            trace_id="tr-0001",
            session_id="call-7f3a",
            scores=[sample_score(score_id="sc-2", value=1.0)],
        ),
        sample_example_accepted(),
        sample_example_rejected(),
        sample_dataset_built(),
        sample_finetune_job_changed(),
        sample_evaluation_completed(),
        sample_evaluation_item_scored(),
        sample_call_scored(),
        sample_rollout_decided(),
        sample_route_table(),
        sample_dead_lettered(),
        commands.BackfillRange(
            from_time=T0 - timedelta(days=1), to_time=T0, project_id="clinic-prod", **who
        ),
        commands.BuildDataset(target_size=100_000, **who),
        commands.CancelJob(job_id="job-0007", reason="wrong base", **who),
        commands.RunEvaluation(model=STUDENT, baselines=[TEACHER], **who),
        commands.PauseRollout(rollout_id="ro-0007", reason="holiday traffic", **who),
        commands.ResumeRollout(rollout_id="ro-0007", **who),
        commands.AbortRollout(rollout_id="ro-0007", reason="complaints", **who),
        commands.AdvanceRollout(rollout_id="ro-0007", force=True, reason="approved by on-call after manual review", **who),
        EraseCaller(session_id="call-7f3a", **who),
        CallerErased(erasure_id="er-1", service="dataset-builder", session_id="call-7f3a",
                     stores=[StoreErasure(store="dataset-builder.examples", removed=3)]),
    ]
