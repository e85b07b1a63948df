"""The evaluator's tables (schema chosen by the connection's search_path)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from distillery_runtime.tables import Timestamp, key, optional, required, timestamp_now

metadata = MetaData()

datasets = Table(
    "datasets", metadata,
    key("dataset_id", Text),
    required("version", Integer),
    optional("cycle_id", Text),
    required("validation_uri", Text),
    required("validation_sha256", Text),
    required("built_at", Timestamp),
)

models = Table(
    "models", metadata,
    key("model", Text),
    required("provider", Text),
    optional("deployment", Text),
    optional("job_id", Text),
    optional("dataset_id", Text),
    timestamp_now("seen_at"),
)

routes = Table(
    "routes", metadata,
    key("route", Text),
    required("version", Integer),
    optional("rollout_id", Text),
    required("arms", JSONB),
    required("updated_at", Timestamp),
)

rollouts = Table(
    "rollouts", metadata,
    key("rollout_id", Text),
    required("candidate_model", Text),
    optional("previous_model", Text),
    required("teacher_model", Text),
    required("active", Boolean),
    required("last_decision", Text),
    required("decided_at", Timestamp),
)

runs = Table(
    "runs", metadata,
    key("run_id", Text),
    required("status", Text),  # pending, running, done
    required("trigger", Text),  # finetune, command
    required("request", JSONB),  # RunRequest as JSON
    optional("cause", JSONB),  # envelope of the triggering event
    optional("lease_until", Timestamp),
    required("lease_token", BigInteger, server_default="0"),
    timestamp_now("requested_at"),
    optional("started_at", Timestamp),
    optional("completed_at", Timestamp),
    optional("outcome", Text),
    optional("result", JSONB),  # the EvaluationCompleted payload
    optional("notes", JSONB),  # skipped gates, scorer notes
)

run_items = Table(
    "run_items", metadata,
    key("run_id", Text),
    key("item_id", Text),
    required("set_name", Text),
    required("item", JSONB),
)

answers = Table(
    "answers", metadata,
    key("run_id", Text),
    key("item_id", Text),
    key("role", Text),
    required("model", Text),
    optional("text", Text),
    optional("tool_calls", JSONB),
    optional("latency_ms", Float),
    optional("input_tokens", Integer),
    optional("output_tokens", Integer),
    optional("cached_input_tokens", Integer),
    optional("error", Text),
    required("attempts", Integer),
    timestamp_now("answered_at"),
)

scores = Table(
    "scores", metadata,
    key("run_id", Text),
    key("item_id", Text),
    key("role", Text),
    key("scorer", Text),
    optional("value", Float),
    optional("label", Text),
    required("detail", JSONB),
)

eval_sets = Table(
    "eval_sets", metadata,
    key("version", Text),
    required("name", Text),
    required("size", Integer),
    required("source", Text),
    timestamp_now("first_used_at"),
)

online_queue = Table(
    "online_queue", metadata,
    key("observation_id", Text),
    required("rollout_id", Text),
    required("trace", JSONB),  # the TraceCaptured payload
    required("cause", JSONB),
    required("status", Text),  # pending, done
    required("attempts", Integer, server_default="0"),
    timestamp_now("not_before"),
    timestamp_now("enqueued_at"),
    Index("online_queue_enqueued_at_idx", "enqueued_at"),
)

online_scores = Table(
    "online_scores", metadata,
    key("observation_id", Text),
    required("rollout_id", Text),
    required("arm", Text),
    required("model", Text),
    required("scored", JSONB),  # the CallScored payload
    optional("teacher_answer", Text),
    required("findings", JSONB),
    required("scored_at", Timestamp),
)
