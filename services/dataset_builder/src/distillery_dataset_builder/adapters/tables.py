"""The dataset-builder's tables (in its own schema, chosen by the connection's search_path).

examples          every accepted example, with its lineage, training line and sketch
retractions       rejections that withdraw (or will withdraw) a stored example
build_requests    BuildDataset commands waiting for, or taken by, a build
datasets          builds in progress ("building", at most one) and published datasets
dataset_examples  which example went into which split of which dataset
build_failures    builds that could not be published, with the reason
trigger_state     when the cron schedule last fired
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Identity, Index, Integer, LargeBinary, MetaData, Table, Text, false, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from distillery_runtime.tables import Timestamp, key, optional, required, timestamp_now

metadata = MetaData()

BUILDING, PUBLISHED = "building", "published"

examples = Table(
    "examples", metadata,
    key("example_id", Text),
    required("seq", BigInteger, Identity(always=True), unique=True),
    required("observation_id", Text),
    required("project_id", Text),
    required("trace_id", Text),
    optional("session_id", Text),
    required("session_key", Text),
    required("captured_at", Timestamp),
    required("accepted_at", Timestamp),
    timestamp_now("stored_at"),
    required("cleaner_version", Text),
    required("config_hash", Text),
    optional("source_model", Text),
    required("tags", ARRAY(Text)),
    optional("intent", Text),
    required("token_count", Integer),
    required("body", Text),
    required("body_bytes", Integer),
    required("signature", LargeBinary),
    required("tokens", Integer),
    required("token_encoding", Text),
    required("retracted", Boolean, server_default=false()),
    optional("retracted_by", Text),
    Index("examples_observation", "observation_id"),
    Index("examples_newest", "cleaner_version", "config_hash", text("captured_at desc"), "example_id"),
)

retractions = Table(
    "retractions", metadata,
    key("rejection_id", Text),
    required("observation_id", Text),
    required("cleaner_version", Text),
    required("config_hash", Text),
    required("reason", Text),
    required("rejected_at", Timestamp),
    Index("retractions_observation", "observation_id"),
)

build_requests = Table(
    "build_requests", metadata,
    key("command_id", Text),
    required("requested_by", Text),
    required("requested_at", Timestamp),
    optional("target_size", Integer),
    optional("base_model", Text),
    optional("cycle_id", Text),
    required("cause", JSONB),
    required("received_seq", BigInteger, Identity(always=True)),
    optional("dataset_id", Text),
)

datasets = Table(
    "datasets", metadata,
    key("dataset_id", Text),
    required("version", Integer, unique=True),
    required("cycle_id", Text),
    required("status", Text),
    required("trigger", Text),
    optional("command_id", Text),
    optional("cause", JSONB),
    required("base_model", Text),
    required("epochs", Integer),
    required("parameters", JSONB),
    required("high_water_seq", BigInteger),
    required("attempts", Integer, server_default=text("1")),
    timestamp_now("started_at"),
    optional("published_at", Timestamp),
    optional("manifest", JSONB),
    optional("files", JSONB),
    CheckConstraint(f"status in ('{BUILDING}', '{PUBLISHED}')", name="datasets_status"),
    Index("datasets_one_building", "status", unique=True, postgresql_where=text("status = 'building'")),
)

dataset_examples = Table(
    "dataset_examples", metadata,
    key("dataset_id", Text, ForeignKey("datasets.dataset_id", ondelete="CASCADE")),
    key("example_id", Text),
    required("split", Text),
    CheckConstraint("split in ('train', 'validation')", name="dataset_examples_split"),
    Index("dataset_examples_example", "example_id"),
)

build_failures = Table(
    "build_failures", metadata,
    key("id", BigInteger, Identity(always=True)),
    required("dataset_id", Text),
    required("version", Integer),
    required("trigger", Text),
    optional("command_id", Text),
    required("reason", Text),
    required("high_water_seq", BigInteger),
    timestamp_now("failed_at"),
)

trigger_state = Table(
    "trigger_state", metadata,
    key("name", Text),
    required("expression", Text),
    required("anchor", Timestamp),
)
