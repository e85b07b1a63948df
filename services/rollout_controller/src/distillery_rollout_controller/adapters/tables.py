"""The rollout-controller's tables (schema chosen by the connection's search_path)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, MetaData, Sequence, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from distillery_runtime.tables import Timestamp, key, optional, required

metadata = MetaData()

rollout_numbers = Sequence("rollout_numbers", metadata=metadata)

route_state = Table(
    "route_state", metadata,
    key("route", Text),
    required("version", Integer),
    optional("rollout_id", Text),
    optional("production_model", Text),
    required("route_table", JSONB, comment="The RouteTableUpdated in force."),
    required("updated_at", Timestamp),
)

rollouts = Table(
    "rollouts", metadata,
    key("rollout_id", Text),
    required("route", Text),
    optional("eval_run_id", Text, unique=True),
    optional("cycle_id", Text),
    required("candidate_model", Text),
    optional("previous_model", Text),
    required("teacher_model", Text),
    required("status", Text),
    required("stage_index", Integer),
    optional("stage_started_at", Timestamp),
    required("decisions_made", Integer),
    optional("last_hold_code", Text),
    optional("last_evaluated_at", Timestamp),
    required("last_gates", JSONB),
    required("last_metrics", JSONB),
    required("created_at", Timestamp),
    optional("ended_at", Timestamp),
    optional("end_reason", Text),
    optional("candidate_provider", Text),
    optional("previous_provider", Text),
    Index("rollouts_route_status", "route", "status"),
)

decisions = Table(
    "decisions", metadata,
    key("decision_id", Text),
    required("rollout_id", Text),
    required("decision", Text),
    required("stage_index", Integer),
    required("actor", Text),
    required("decided_at", Timestamp),
    required("payload", JSONB, comment="The RolloutDecided as published."),
    Index("decisions_rollout", "rollout_id", "decided_at"),
)

observations = Table(
    "observations", metadata,
    key("observation_id", Text),
    required("rollout_id", Text),
    required("stage_index", Integer),
    required("arm", Text),
    optional("model", Text),
    required("observed_at", Timestamp),
    optional("latency_ms", Float),
    optional("error", Boolean),
    optional("cost_usd", Float),
    optional("hallucinated", Boolean),
    optional("judge_outcome", Text),
    optional("similarity", Float),
    required("scored", Boolean),
    Index("observations_window", "rollout_id", "stage_index", "arm"),
)

traffic = Table(
    "traffic", metadata,
    key("hour", Timestamp),
    key("model", Text),
    required("calls", BigInteger),
    required("priced_calls", BigInteger),
    required("cost_usd", Float),
    required("input_tokens", BigInteger),
    required("output_tokens", BigInteger),
    required("first_at", Timestamp),
    required("last_at", Timestamp),
)
