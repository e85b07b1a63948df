"""Sample events of the data pipeline: traces, examples, datasets and fine-tuning jobs.

A clinic's appointment line: a caller books a check-up, the assistant looks up a slot
with a tool.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from distillery_contracts.common import Score
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.examples import (
    ExampleAccepted,
    ExampleRejected,
    Lineage,
    derive_example_id,
    derive_rejection_id,
)
from distillery_contracts.finetune import FinetuneJobChanged, JobStatus
from distillery_contracts.messages import FineTuneMessage, ToolDefinition
from distillery_contracts.traces import TraceCaptured

T0 = datetime(2026, 3, 2, 9, 15, 0, tzinfo=UTC)
TEACHER = "gpt-4.1-2025-04-14"
STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::B7x2kQ1"
SYSTEM_PROMPT = "You are the voice assistant of Riverside Clinic. Be brief and friendly."

FIND_SLOT_TOOL = {
    "type": "function",
    "function": {
        "name": "find_slot",
        "description": "Find the next free appointment slot.",
        "parameters": {
            "type": "object",
            "properties": {"kind": {"type": "string"}, "after": {"type": "string"}},
            "required": ["kind"],
        },
    },
}

_CALL = [
    {"role": "system", "content": SYSTEM_PROMPT},
    {"role": "user", "content": "Hi, I'd like to book a check-up, ideally Tuesday morning."},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {
                    "name": "find_slot",
                    "arguments": '{"kind": "check-up", "after": "tuesday"}',
                },
            }
        ],
    },
    {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": '{"slot": "Tuesday 09:30", "doctor": "Dr. Okafor"}',
    },
]
_ANSWER = {
    "role": "assistant",
    "content": "Dr. Okafor is free on Tuesday at 9:30. Shall I book it?",
}


def sample_score(**overrides: Any) -> Score:
    fields = {
        "score_id": "sc-1",
        "name": "hallucination",
        "value": 0.0,
        "data_type": "NUMERIC",
        "source": "EVAL",
        "timestamp": T0 + timedelta(minutes=3),
    }
    return Score.model_validate({**fields, **overrides})


def sample_trace_captured(**overrides: Any) -> TraceCaptured:
    fields = {
        "project_id": "clinic-prod",
        "observation_id": "obs-0001",
        "trace_id": "tr-0001",
        "session_id": "call-7f3a",
        "user_id": "tenant-riverside",
        "environment": "production",
        "name": "answer-turn",
        "start_time": T0,
        "end_time": T0 + timedelta(milliseconds=820),
        "completion_start_time": T0 + timedelta(milliseconds=310),
        "latency_ms": 820.0,
        "time_to_first_token_ms": 310.0,
        "model": TEACHER,
        "model_parameters": {"max_tokens": 256, "temperature": 0.3, "extra": {"seed": 7}},
        "input_messages": _CALL,
        "output": _ANSWER,
        "tools": [FIND_SLOT_TOOL],
        "finish_reason": "stop",
        "usage": {
            "input_tokens": 1012,
            "output_tokens": 18,
            "total_tokens": 1030,
            "cached_input_tokens": 896,
        },
        "cost": {"input_usd": 0.000676, "output_usd": 0.000144, "total_usd": 0.00082},
        "tags": ["intent:booking"],
        "metadata": {"arm": "teacher", "call_id": "call-7f3a"},
        "prompt_name": "clinic-voice",
        "prompt_version": 4,
        "scores": [sample_score()],
        "ingested_at": T0 + timedelta(minutes=5),
    }
    return TraceCaptured.model_validate({**fields, **overrides})


def sample_lineage(**overrides: Any) -> Lineage:
    fields = {
        "project_id": "clinic-prod",
        "observation_id": "obs-0001",
        "trace_id": "tr-0001",
        "session_id": "call-7f3a",
        "captured_at": T0,
        "model": TEACHER,
    }
    return Lineage.model_validate({**fields, **overrides})


def sample_example_accepted(**overrides: Any) -> ExampleAccepted:
    messages = [FineTuneMessage.model_validate(m) for m in (*_CALL, _ANSWER)]
    fields = {
        "example_id": derive_example_id("c0ffee" * 10 + "abcd", "cleaner-1.0.0", "cfg-5e1d"),
        "cleaner_version": "cleaner-1.0.0",
        "config_hash": "cfg-5e1d",
        "messages": messages,
        "tools": [ToolDefinition.model_validate(FIND_SLOT_TOOL)],
        "lineage": sample_lineage(),
        "tags": ["intent:booking"],
        "intent": "booking",
        "token_count": 1030,
        "redactions": {"PHONE": 1},
        "accepted_at": T0 + timedelta(minutes=6),
    }
    return ExampleAccepted.model_validate({**fields, **overrides})


def sample_example_rejected(**overrides: Any) -> ExampleRejected:
    fields = {
        "rejection_id": derive_rejection_id("obs-0002", "cleaner-1.0.0", "cfg-5e1d"),
        "cleaner_version": "cleaner-1.0.0",
        "config_hash": "cfg-5e1d",
        "reason": "truncated",
        "detail": "output_tokens 256 == max_tokens 256",
        "lineage": sample_lineage(observation_id="obs-0002"),
        "rejected_at": T0 + timedelta(minutes=6),
    }
    return ExampleRejected.model_validate({**fields, **overrides})


def _file(name: str, size: int) -> dict[str, Any]:
    return {
        "uri": f"file:///var/lib/distillery/datasets/ds-0007/{name}",
        "sha256": "ab" * 32,
        "size_bytes": size,
    }


def sample_dataset_built(**overrides: Any) -> DatasetBuilt:
    fields = {
        "dataset_id": "ds-0007",
        "version": 7,
        "cycle_id": "cycle-0007",
        "base_model": "gpt-4o-mini-2024-07-18",
        "files": {
            "train": _file("train.jsonl", 512_000_000),
            "validation": _file("validation.jsonl", 26_000_000),
            "manifest": _file("manifest.json", 4_096),
        },
        "counts": {
            "train_examples": 95_000,
            "validation_examples": 5_000,
            "train_sessions": 19_000,
            "validation_sessions": 1_000,
            "candidate_examples": 131_000,
        },
        "token_stats": {
            "train_tokens": 142_500_000,
            "validation_tokens": 7_500_000,
            "mean_per_example": 1500.0,
            "p50_per_example": 1420,
            "p95_per_example": 2380,
            "max_per_example": 6100,
        },
        "estimated_training_cost_usd": 1282.5,
        "epochs": 3,
        "cleaner_versions": ["cleaner-1.0.0"],
        "source_time_range": {"start": T0 - timedelta(days=90), "end": T0},
        "selection": {
            "target_size": 100_000,
            "max_examples_per_session": 12,
            "stratify_by": ["intent"],
            "validation_fraction": 0.05,
            "near_duplicate_threshold": 0.8,
        },
        "excluded_eval_near_duplicates": 42,
        "trigger": "threshold",
        "built_at": T0 + timedelta(hours=1),
    }
    return DatasetBuilt.model_validate({**fields, **overrides})


def sample_finetune_job_changed(**overrides: Any) -> FinetuneJobChanged:
    fields = {
        "job_id": "job-0007",
        "provider": "azure",
        "provider_job_id": "ftjob-4b1c",
        "dataset_id": "ds-0007",
        "cycle_id": "cycle-0007",
        "base_model": "gpt-4o-mini-2024-07-18",
        "status": JobStatus.SUCCEEDED,
        "fine_tuned_model": STUDENT,
        "deployment_name": "clinic-student-0007",
        "trained_tokens": 427_500_000,
        "hyperparameters": {
            "n_epochs": 3,
            "batch_size": "auto",
            "learning_rate_multiplier": 1.8,
            "seed": 7,
        },
        "metrics": {
            "step": 2900,
            "train_loss": 0.41,
            "valid_loss": 0.47,
            "train_token_accuracy": 0.89,
            "valid_token_accuracy": 0.87,
        },
        "occurred_at": T0 + timedelta(hours=20),
    }
    return FinetuneJobChanged.model_validate({**fields, **overrides})
