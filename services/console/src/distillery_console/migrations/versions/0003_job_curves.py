"""Each fine-tuning job's training loss curve, from the latest job event that carries one."""

from distillery_runtime.migration_steps import apply

revision, down_revision = "0003", "0002"

# Frozen, like 0001 and 0002: a later change to this table comes with a revision of its own.
JOB_CURVES_V3 = """
create table job_curves (
    job_id text not null,
    cycle_id text,
    occurred_at timestamp with time zone not null,
    points jsonb not null,
    primary key (job_id)
);
comment on column job_curves.occurred_at is 'Time of the job event the curve came from: only a later one replaces it.';
comment on column job_curves.points is 'The event''s loss_curve: LossPoints in step order.';
create index job_curves_cycle on job_curves (cycle_id);
"""

JOB_CURVES_V3_DOWN = """
drop table job_curves;
"""


def upgrade() -> None:
    apply(JOB_CURVES_V3)


def downgrade() -> None:
    apply(JOB_CURVES_V3_DOWN)
