"""The console's read model (schema chosen by the connection's search_path).

Every row comes from an event on a topic, so dropping the schema and replaying the topics
from the earliest offset rebuilds it; ``operator_actions`` too, from the commands topic.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from distillery_runtime.tables import Timestamp, key, optional, required

metadata = MetaData()

route_tables = Table(
    "route_tables", metadata,
    key("route", Text),
    required("version", Integer),
    optional("rollout_id", Text),
    required("payload", JSONB, comment="The latest RouteTableUpdated of the route."),
    required("updated_at", Timestamp),
)

cycles = Table(
    "cycles", metadata,
    key("cycle_id", Text),
    required("started_at", Timestamp),
    required("updated_at", Timestamp, comment="Time of the latest event: an older event never moves the phase back."),
    required("phase", Text),
    optional("candidate_model", Text),
    Index("cycles_started", "started_at"),
)

datasets = Table(
    "datasets", metadata,
    key("dataset_id", Text),
    optional("cycle_id", Text),
    required("version", Integer),
    required("built_at", Timestamp),
    required("payload", JSONB, comment="The DatasetBuilt."),
    Index("datasets_cycle", "cycle_id"),
)

job_events = Table(
    "job_events", metadata,
    key("event_id", Text),
    required("job_id", Text),
    optional("cycle_id", Text),
    required("status", Text),
    optional("step", Integer),
    optional("train_loss", Float),
    optional("valid_loss", Float),
    required("occurred_at", Timestamp),
    Index("job_events_cycle", "cycle_id", "occurred_at"),
)

evaluations = Table(
    "evaluations", metadata,
    key("run_id", Text),
    optional("cycle_id", Text),
    required("outcome", Text),
    required("completed_at", Timestamp),
    required("payload", JSONB, comment="The EvaluationCompleted."),
    Index("evaluations_cycle", "cycle_id"),
)

eval_items = Table(
    "eval_items", metadata,
    key("run_id", Text),
    key("item_id", Text),
    required("position", Integer),
    required("failing", Boolean),
    required("payload", JSONB, comment="The EvaluationItemScored."),
    Index("eval_items_page", "run_id", "failing", "position"),
)

decisions = Table(
    "decisions", metadata,
    key("decision_id", Text),
    required("rollout_id", Text),
    optional("cycle_id", Text),
    required("decided_at", Timestamp),
    required("payload", JSONB, comment="The RolloutDecided."),
    Index("decisions_cycle", "cycle_id", "decided_at"),
    Index("decisions_rollout", "rollout_id", "decided_at"),
)

rejections = Table(
    "rejections", metadata,
    key("cleaner_version", Text),
    key("reason", Text),
    required("examples", BigInteger),
)

operator_actions = Table(
    "operator_actions", metadata,
    key("action_id", Text),
    required("rollout_id", Text),
    required("action", Text),
    required("operator", Text),
    optional("reason", Text),
    required("requested_at", Timestamp),
    Index("operator_actions_rollout", "rollout_id", "requested_at"),
)
