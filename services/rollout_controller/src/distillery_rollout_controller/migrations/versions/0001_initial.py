"""Runtime tables, rollouts, decisions, route state, observed calls and traffic."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision = "0001"
down_revision = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    op.execute(sa.schema.CreateSequence(sa.Sequence("rollout_numbers")))
    op.create_table(
        "route_state",
        sa.Column("route", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("rollout_id", sa.Text),
        sa.Column("production_model", sa.Text),
        sa.Column("route_table", JSONB, nullable=False, comment="The RouteTableUpdated in force."),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "rollouts",
        sa.Column("rollout_id", sa.Text, primary_key=True),
        sa.Column("route", sa.Text, nullable=False),
        sa.Column("eval_run_id", sa.Text, unique=True),
        sa.Column("cycle_id", sa.Text),
        sa.Column("candidate_model", sa.Text, nullable=False),
        sa.Column("previous_model", sa.Text),
        sa.Column("teacher_model", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("stage_index", sa.Integer, nullable=False),
        sa.Column("stage_started_at", TS),
        sa.Column("decisions_made", sa.Integer, nullable=False),
        sa.Column("last_hold_code", sa.Text),
        sa.Column("last_evaluated_at", TS),
        sa.Column("last_gates", JSONB, nullable=False),
        sa.Column("last_metrics", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("ended_at", TS),
        sa.Column("end_reason", sa.Text),
    )
    op.create_index("rollouts_route_status", "rollouts", ["route", "status"])
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.Text, primary_key=True),
        sa.Column("rollout_id", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("stage_index", sa.Integer, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("decided_at", TS, nullable=False),
        sa.Column("payload", JSONB, nullable=False, comment="The RolloutDecided as published."),
    )
    op.create_index("decisions_rollout", "decisions", ["rollout_id", "decided_at"])
    op.create_table(
        "observations",
        sa.Column("observation_id", sa.Text, primary_key=True),
        sa.Column("rollout_id", sa.Text, nullable=False),
        sa.Column("stage_index", sa.Integer, nullable=False),
        sa.Column("arm", sa.Text, nullable=False),
        sa.Column("model", sa.Text),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("latency_ms", sa.Float),
        sa.Column("error", sa.Boolean),
        sa.Column("cost_usd", sa.Float),
        sa.Column("hallucinated", sa.Boolean),
        sa.Column("judge_outcome", sa.Text),
        sa.Column("similarity", sa.Float),
        sa.Column("scored", sa.Boolean, nullable=False),
    )
    op.create_index("observations_window", "observations", ["rollout_id", "stage_index", "arm"])
    op.create_table(
        "traffic",
        sa.Column("hour", TS, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("calls", sa.BigInteger, nullable=False),
        sa.Column("priced_calls", sa.BigInteger, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("input_tokens", sa.BigInteger, nullable=False),
        sa.Column("output_tokens", sa.BigInteger, nullable=False),
        sa.Column("first_at", TS, nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("hour", "model", name="traffic_pkey"),
    )
