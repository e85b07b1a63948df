"""The evaluator's tables (schema chosen by the connection's search_path)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

datasets = Table(
    "datasets", metadata,
    Column("dataset_id", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("cycle_id", Text),
    Column("validation_uri", Text, nullable=False),
    Column("validation_sha256", Text, nullable=False),
    Column("built_at", DateTime(timezone=True), nullable=False),
)

models = Table(
    "models", metadata,
    Column("model", Text, primary_key=True),
    Column("provider", Text, nullable=False),
    Column("deployment", Text),
    Column("job_id", Text),
    Column("dataset_id", Text),
    Column("seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

routes = Table(
    "routes", metadata,
    Column("route", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("rollout_id", Text),
    Column("arms", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

rollouts = Table(
    "rollouts", metadata,
    Column("rollout_id", Text, primary_key=True),
    Column("candidate_model", Text, nullable=False),
    Column("previous_model", Text),
    Column("teacher_model", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("last_decision", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs", metadata,
    Column("run_id", Text, primary_key=True),
    Column("status", Text, nullable=False),  # pending, running, done
    Column("trigger", Text, nullable=False),  # finetune, command
    Column("request", JSONB, nullable=False),  # RunRequest as JSON
    Column("cause", JSONB),  # envelope of the triggering event
    Column("lease_until", DateTime(timezone=True)),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("outcome", Text),
    Column("result", JSONB),  # the EvaluationCompleted payload
    Column("notes", JSONB),  # skipped gates, scorer notes
)

run_items = Table(
    "run_items", metadata,
    Column("run_id", Text, nullable=False),
    Column("item_id", Text, nullable=False),
    Column("set_name", Text, nullable=False),
    Column("item", JSONB, nullable=False),
    PrimaryKeyConstraint("run_id", "item_id"),
)

answers = Table(
    "answers", metadata,
    Column("run_id", Text, nullable=False),
    Column("item_id", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("text", Text),
    Column("tool_calls", JSONB),
    Column("latency_ms", Float),
    Column("input_tokens", Integer),
    Column("output_tokens", Integer),
    Column("cached_input_tokens", Integer),
    Column("error", Text),
    Column("attempts", Integer, nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("run_id", "item_id", "role"),
)

scores = Table(
    "scores", metadata,
    Column("run_id", Text, nullable=False),
    Column("item_id", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("scorer", Text, nullable=False),
    Column("value", Float),
    Column("label", Text),
    Column("detail", JSONB, nullable=False),
    PrimaryKeyConstraint("run_id", "item_id", "role", "scorer"),
)

eval_sets = Table(
    "eval_sets", metadata,
    Column("version", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("first_used_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

online_queue = Table(
    "online_queue", metadata,
    Column("observation_id", Text, primary_key=True),
    Column("rollout_id", Text, nullable=False),
    Column("trace", JSONB, nullable=False),  # the TraceCaptured payload
    Column("cause", JSONB, nullable=False),
    Column("status", Text, nullable=False),  # pending, done
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("not_before", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("enqueued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

online_scores = Table(
    "online_scores", metadata,
    Column("observation_id", Text, primary_key=True),
    Column("rollout_id", Text, nullable=False),
    Column("arm", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("scored", JSONB, nullable=False),  # the CallScored payload
    Column("teacher_answer", Text),
    Column("findings", JSONB, nullable=False),
    Column("scored_at", DateTime(timezone=True), nullable=False),
)
