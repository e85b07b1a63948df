"""The console's read model (schema chosen by the connection's search_path).

Every row comes from an event on a topic, so dropping the schema and replaying the topics
from the earliest offset rebuilds it; ``operator_actions`` too, from the commands topic. The
one exception: who republished a dead letter (``dead_letters.republished_*``), which only
the console records.

``eval_items``, ``examples`` and ``dead_letters`` can hold a caller's words: each has a
retention (config.py) and answers an erasure (adapters/erasure_store.py).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, MetaData, Table, Text, text
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
    optional("provider", Text),
    optional("base_model", Text,
             comment="The model the job fine-tunes (on provider): the overview warns before the lifecycle guard "
             "refuses it."),
    optional("base_model_dates", JSONB,
             comment="What the provider publishes for base_model (PublishedDates), as the lifecycle guard read it: "
             "the overview warns of that provider's arms by it."),
    Index("job_events_cycle", "cycle_id", "occurred_at"),
)

job_curves = Table(
    "job_curves", metadata,
    key("job_id", Text),
    optional("cycle_id", Text),
    required("occurred_at", Timestamp, comment="Time of the job event the curve came from: only a later one replaces it."),
    required("points", JSONB, comment="The event's loss_curve: LossPoints in step order."),
    required("checkpoints", JSONB, server_default=text("'[]'"),
             comment="The event's checkpoints: JobCheckpoints in step order."),
    Index("job_curves_cycle", "cycle_id"),
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
    required("scored_at", Timestamp, comment="Retention: rows older than DISTILLERY_CONSOLE_ITEM_RETENTION_DAYS go."),
    optional("trace_id", Text, comment="Langfuse trace of the prompt: what an erasure matches."),
    Index("eval_items_page", "run_id", "failing", "position"),
    Index("eval_items_age", "scored_at"),
    Index("eval_items_trace", "trace_id"),
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

examples = Table(
    "examples", metadata,
    key("example_id", Text, comment="example_id of an ExampleAccepted, rejection_id of an ExampleRejected."),
    required("kind", Text, comment="accepted or rejected."),
    required("cleaner_version", Text),
    optional("reason", Text, comment="Rejection reason, null for an accepted example."),
    optional("detail", Text, comment="What failed (never PII values, by contract)."),
    required("project_id", Text),
    required("trace_id", Text),
    optional("session_id", Text),
    required("observation_id", Text),
    optional("messages", JSONB, comment="An accepted example's messages (PII redacted), each cut to what the page shows."),
    required("at", Timestamp, comment="When the cleaner decided, retention runs from it."),
    Index("examples_page", "cleaner_version", "kind", "reason", "at"),
    Index("examples_age", "at"),
    Index("examples_session", "session_id"),
    Index("examples_trace", "trace_id"),
)

dead_letters = Table(
    "dead_letters", metadata,
    key("letter_id", Text, comment="Event id of the DeadLettered: one row per message and consumer group."),
    required("source_topic", Text),
    optional("source_partition", Integer),
    optional("source_offset", BigInteger),
    optional("consumer_group", Text),
    required("error_type", Text, comment="The reason the page groups by."),
    required("error_message", Text),
    required("attempts", Integer),
    required("failed_at", Timestamp, comment="Retention runs from it."),
    optional("original_key", Text),
    required("original_headers", JSONB),
    required("original_value", Text, comment="The message body: may hold a caller's words."),
    optional("original_bytes", BigInteger, comment="Set when the letter carries only the body's beginning."),
    optional("session_id", Text, comment="Session the message names, when it names one: what an erasure matches."),
    optional("trace_id", Text, comment="Trace the message names, when it names one."),
    optional("republished_by", Text, comment="The operator who put the message back on its topic."),
    optional("republished_at", Timestamp),
    optional("republish_reason", Text),
    Index("dead_letters_page", "source_topic", "error_type", "failed_at"),
    Index("dead_letters_age", "failed_at"),
    Index("dead_letters_session", "session_id"),
    Index("dead_letters_trace", "trace_id"),
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
