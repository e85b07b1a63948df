"""The trainer's tables (schema chosen by the connection's search_path)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Identity, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from distillery_runtime.tables import Timestamp, key, optional, required

metadata = MetaData()

files = Table(
    "files", metadata,
    key("file_id", Text),
    required("filename", Text),
    required("purpose", Text),
    required("bytes", BigInteger),
    required("sha256", Text),
    required("examples", Integer),
    required("status", Text),
    optional("status_details", Text),
    required("created_at", Timestamp),
)

jobs = Table(
    "jobs", metadata,
    key("job_id", Text),
    required("base_model", Text),
    required("training_file", Text),
    optional("validation_file", Text),
    optional("suffix", Text),
    optional("seed", BigInteger),
    required("metadata", JSONB),
    required("requested", JSONB),
    required("settings", JSONB),
    required("status", Text),
    required("created_at", Timestamp),
    optional("started_at", Timestamp),
    optional("finished_at", Timestamp),
    optional("fine_tuned_model", Text),
    optional("trained_tokens", BigInteger),
    optional("error", JSONB),
    optional("adapter", JSONB),
    required("cancel_requested", Boolean, server_default="false"),
    required("attempts", Integer, server_default="0"),
    Index("jobs_by_status", "status", "created_at"),
    Index("jobs_by_age", "created_at", "job_id"),
)

job_events = Table(
    "job_events", metadata,
    key("seq", BigInteger, Identity(always=True)),
    required("job_id", Text),
    required("event_id", Text, unique=True),
    required("created_at", Timestamp),
    required("level", Text),
    required("type", Text),
    required("message", Text),
    optional("data", JSONB),
    Index("job_events_by_job", "job_id", "seq"),
)

checkpoints = Table(
    "checkpoints", metadata,
    key("checkpoint_id", Text),
    required("job_id", Text),
    required("step", Integer),
    required("created_at", Timestamp),
    required("metrics", JSONB),
    required("model_checkpoint", Text),
    Index("checkpoints_by_job", "job_id", "step", unique=True),
)
