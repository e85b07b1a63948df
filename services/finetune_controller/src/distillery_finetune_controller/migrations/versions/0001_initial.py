"""Runtime tables, jobs with their history, events and checkpoints, uploaded files, model registry."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision = "0001"
down_revision = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.Text, primary_key=True),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("dataset_version", sa.Integer, nullable=False),
        sa.Column("cycle_id", sa.Text),
        sa.Column("base_model", sa.Text, nullable=False),
        sa.Column("train", JSONB, nullable=False),
        sa.Column("validation", JSONB, nullable=False),
        sa.Column("hyperparameters", JSONB, nullable=False),
        sa.Column("suffix", sa.Text),
        sa.Column("seed", sa.BigInteger),
        sa.Column("cause", JSONB, nullable=False),
        sa.Column("estimated_cost_usd", sa.Float),
        sa.Column("phase", sa.Text, nullable=False),
        sa.Column("status", sa.Text),
        sa.Column("provider_job_id", sa.Text, unique=True),
        sa.Column("provider_status", sa.Text),
        sa.Column("training_file_id", sa.Text),
        sa.Column("validation_file_id", sa.Text),
        sa.Column("create_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("intent_at", TS),
        sa.Column("fine_tuned_model", sa.Text),
        sa.Column("deployment_name", sa.Text),
        sa.Column("trained_tokens", sa.BigInteger),
        sa.Column("error", JSONB),
        sa.Column("metrics", JSONB, nullable=False),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("cancel_reason", sa.Text),
        sa.Column("cancel_sent", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("check_interval_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("next_check_at", TS, nullable=False),
        sa.Column("last_event_id", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("jobs_due", "jobs", ["account", "phase", "next_check_at"])
    op.create_table(
        "job_history",
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "status", name="job_history_pkey"),
    )
    op.create_table(
        "job_events",
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("type", sa.Text),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", JSONB),
        sa.PrimaryKeyConstraint("job_id", "event_id", name="job_events_pkey"),
    )
    op.create_table(
        "job_checkpoints",
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("checkpoint_id", sa.Text, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("model_checkpoint", sa.Text, nullable=False),
        sa.Column("metrics", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "checkpoint_id", name="job_checkpoints_pkey"),
    )
    op.create_table(
        "uploaded_files",
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("file_id", sa.Text, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("account", "sha256", name="uploaded_files_pkey"),
    )
    op.create_table(
        "models",
        sa.Column("fine_tuned_model", sa.Text, primary_key=True),
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("cycle_id", sa.Text),
        sa.Column("base_model", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("provider_job_id", sa.Text),
        sa.Column("deployment_name", sa.Text),
        sa.Column("trained_tokens", sa.BigInteger),
        sa.Column("metrics", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("rollout_id", sa.Text),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("status_changed_at", TS, nullable=False),
    )
    op.create_index("models_deployment", "models", ["deployment_name"])
