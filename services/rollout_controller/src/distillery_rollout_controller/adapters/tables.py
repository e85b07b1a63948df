"""The rollout-controller's tables (schema chosen by the connection's search_path)."""

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
    Sequence,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

rollout_numbers = Sequence("rollout_numbers", metadata=metadata)

route_state = Table(
    "route_state", metadata,
    Column("route", Text, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("rollout_id", Text),
    Column("production_model", Text),
    Column("route_table", JSONB, nullable=False, comment="The RouteTableUpdated in force."),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

rollouts = Table(
    "rollouts", metadata,
    Column("rollout_id", Text, primary_key=True),
    Column("route", Text, nullable=False),
    Column("eval_run_id", Text, unique=True),
    Column("cycle_id", Text),
    Column("candidate_model", Text, nullable=False),
    Column("previous_model", Text),
    Column("teacher_model", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("stage_index", Integer, nullable=False),
    Column("stage_started_at", DateTime(timezone=True)),
    Column("decisions_made", Integer, nullable=False),
    Column("last_hold_code", Text),
    Column("last_evaluated_at", DateTime(timezone=True)),
    Column("last_gates", JSONB, nullable=False),
    Column("last_metrics", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("end_reason", Text),
    Index("rollouts_route_status", "route", "status"),
)

decisions = Table(
    "decisions", metadata,
    Column("decision_id", Text, primary_key=True),
    Column("rollout_id", Text, nullable=False),
    Column("decision", Text, nullable=False),
    Column("stage_index", Integer, nullable=False),
    Column("actor", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False, comment="The RolloutDecided as published."),
    Index("decisions_rollout", "rollout_id", "decided_at"),
)

observations = Table(
    "observations", metadata,
    Column("observation_id", Text, primary_key=True),
    Column("rollout_id", Text, nullable=False),
    Column("stage_index", Integer, nullable=False),
    Column("arm", Text, nullable=False),
    Column("model", Text),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("latency_ms", Float),
    Column("error", Boolean),
    Column("cost_usd", Float),
    Column("hallucinated", Boolean),
    Column("judge_outcome", Text),
    Column("similarity", Float),
    Column("scored", Boolean, nullable=False),
    Index("observations_window", "rollout_id", "stage_index", "arm"),
)

traffic = Table(
    "traffic", metadata,
    Column("hour", DateTime(timezone=True), nullable=False),
    Column("model", Text, nullable=False),
    Column("calls", BigInteger, nullable=False),
    Column("priced_calls", BigInteger, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("hour", "model", name="traffic_pkey"),
)
