"""The finetune-controller's tables (schema chosen by the connection's search_path)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from distillery_runtime.tables import Timestamp, key, optional, required

metadata = MetaData()

jobs = Table(
    "jobs", metadata,
    key("job_id", Text),
    required("provider", Text),
    required("account", Text),
    required("dataset_id", Text),
    required("dataset_version", Integer),
    optional("cycle_id", Text),
    required("base_model", Text),
    required("train", JSONB),
    required("validation", JSONB),
    required("hyperparameters", JSONB),
    optional("suffix", Text),
    optional("seed", BigInteger),
    required("cause", JSONB),
    optional("estimated_cost_usd", Float),
    required("phase", Text),
    optional("status", Text),
    optional("provider_job_id", Text, unique=True),
    optional("provider_status", Text),
    optional("training_file_id", Text),
    optional("validation_file_id", Text),
    required("create_attempts", Integer, server_default="0"),
    optional("intent_at", Timestamp),
    optional("attempted_at", Timestamp),
    optional("fine_tuned_model", Text),
    optional("deployment_name", Text),
    optional("trained_tokens", BigInteger),
    optional("error", JSONB),
    optional("base_model_dates", JSONB),
    required("metrics", JSONB),
    required("cancel_requested", Boolean, server_default="false"),
    optional("cancel_reason", Text),
    required("cancel_sent", Boolean, server_default="false"),
    required("failures", Integer, server_default="0"),
    required("check_interval_s", Float, server_default="0"),
    required("next_check_at", Timestamp),
    optional("last_event_id", Text),
    required("created_at", Timestamp),
    required("updated_at", Timestamp),
    Index("jobs_due", "account", "phase", "next_check_at"),
)

job_history = Table(
    "job_history", metadata,
    key("job_id", Text),
    key("status", Text),
    required("occurred_at", Timestamp),
)

job_events = Table(
    "job_events", metadata,
    key("job_id", Text),
    key("event_id", Text),
    required("created_at", Timestamp),
    required("level", Text),
    optional("type", Text),
    required("message", Text),
    optional("data", JSONB),
)

job_checkpoints = Table(
    "job_checkpoints", metadata,
    key("job_id", Text),
    key("checkpoint_id", Text),
    required("step", Integer),
    required("created_at", Timestamp),
    required("model_checkpoint", Text),
    required("metrics", JSONB),
)

uploaded_files = Table(
    "uploaded_files", metadata,
    key("account", Text),
    key("sha256", Text),
    required("file_id", Text),
    required("filename", Text),
    required("size_bytes", BigInteger),
    required("uploaded_at", Timestamp),
)

models = Table(
    "models", metadata,
    key("fine_tuned_model", Text),
    required("job_id", Text),
    required("dataset_id", Text),
    optional("cycle_id", Text),
    required("base_model", Text),
    required("provider", Text),
    optional("provider_job_id", Text),
    optional("deployment_name", Text),
    optional("trained_tokens", BigInteger),
    required("metrics", JSONB),
    required("status", Text),
    optional("rollout_id", Text),
    required("registered_at", Timestamp),
    required("status_changed_at", Timestamp),
    optional("undeploy_due_at", Timestamp),
    required("undeploy_failures", Integer, server_default="0"),
    optional("undeployed_at", Timestamp),
    Index("models_deployment", "deployment_name"),
)

fencing_tokens = Table(
    "fencing_tokens", metadata,
    key("name", Text),
    required("token", BigInteger),
)
