"""The finetune-controller's tables (schema chosen by the connection's search_path)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Text, primary_key=True),
    Column("provider", Text, nullable=False),
    Column("account", Text, nullable=False),
    Column("dataset_id", Text, nullable=False),
    Column("dataset_version", Integer, nullable=False),
    Column("cycle_id", Text),
    Column("base_model", Text, nullable=False),
    Column("train", JSONB, nullable=False),
    Column("validation", JSONB, nullable=False),
    Column("hyperparameters", JSONB, nullable=False),
    Column("suffix", Text),
    Column("seed", BigInteger),
    Column("cause", JSONB, nullable=False),
    Column("estimated_cost_usd", Float),
    Column("phase", Text, nullable=False),
    Column("status", Text),
    Column("provider_job_id", Text, unique=True),
    Column("provider_status", Text),
    Column("training_file_id", Text),
    Column("validation_file_id", Text),
    Column("create_attempts", Integer, nullable=False, server_default="0"),
    Column("intent_at", DateTime(timezone=True)),
    Column("fine_tuned_model", Text),
    Column("deployment_name", Text),
    Column("trained_tokens", BigInteger),
    Column("error", JSONB),
    Column("metrics", JSONB, nullable=False),
    Column("cancel_requested", Boolean, nullable=False, server_default="false"),
    Column("cancel_reason", Text),
    Column("cancel_sent", Boolean, nullable=False, server_default="false"),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("check_interval_s", Float, nullable=False, server_default="0"),
    Column("next_check_at", DateTime(timezone=True), nullable=False),
    Column("last_event_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("jobs_due", "account", "phase", "next_check_at"),
)

job_history = Table(
    "job_history",
    metadata,
    Column("job_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("job_id", "status", name="job_history_pkey"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("job_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("level", Text, nullable=False),
    Column("type", Text),
    Column("message", Text, nullable=False),
    Column("data", JSONB),
    PrimaryKeyConstraint("job_id", "event_id", name="job_events_pkey"),
)

job_checkpoints = Table(
    "job_checkpoints",
    metadata,
    Column("job_id", Text, nullable=False),
    Column("checkpoint_id", Text, nullable=False),
    Column("step", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_checkpoint", Text, nullable=False),
    Column("metrics", JSONB, nullable=False),
    PrimaryKeyConstraint("job_id", "checkpoint_id", name="job_checkpoints_pkey"),
)

uploaded_files = Table(
    "uploaded_files",
    metadata,
    Column("account", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("file_id", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("account", "sha256", name="uploaded_files_pkey"),
)

models = Table(
    "models",
    metadata,
    Column("fine_tuned_model", Text, primary_key=True),
    Column("job_id", Text, nullable=False),
    Column("dataset_id", Text, nullable=False),
    Column("cycle_id", Text),
    Column("base_model", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("provider_job_id", Text),
    Column("deployment_name", Text),
    Column("trained_tokens", BigInteger),
    Column("metrics", JSONB, nullable=False),
    Column("status", Text, nullable=False),
    Column("rollout_id", Text),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("status_changed_at", DateTime(timezone=True), nullable=False),
    Index("models_deployment", "deployment_name"),
)
