"""Each fine-tuning job's checkpoints, kept beside its loss curve from the same job event."""

from distillery_runtime.migration_steps import Revision

revision, down_revision = "0004", "0003"

# Frozen, like 0001 to 0003: a later change to this table comes with a revision of its own.
JOB_CHECKPOINTS_V4 = Revision(
    up="""
alter table job_curves add column checkpoints jsonb not null default '[]';
comment on column job_curves.checkpoints is 'The event''s checkpoints: JobCheckpoints in step order.';
""",
    down="alter table job_curves drop column checkpoints;",
)
upgrade, downgrade = JOB_CHECKPOINTS_V4.upgrade, JOB_CHECKPOINTS_V4.downgrade
