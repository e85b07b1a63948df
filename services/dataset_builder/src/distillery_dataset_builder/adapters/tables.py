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

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

BUILDING, PUBLISHED = "building", "published"

examples = Table(
    "examples",
    metadata,
    Column("example_id", Text, primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("observation_id", Text, nullable=False),
    Column("project_id", Text, nullable=False),
    Column("trace_id", Text, nullable=False),
    Column("session_id", Text),
    Column("session_key", Text, nullable=False),
    Column("captured_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("cleaner_version", Text, nullable=False),
    Column("config_hash", Text, nullable=False),
    Column("source_model", Text),
    Column("tags", ARRAY(Text), nullable=False),
    Column("intent", Text),
    Column("token_count", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("body_bytes", Integer, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("tokens", Integer, nullable=False),
    Column("token_encoding", Text, nullable=False),
    Column("retracted", Boolean, nullable=False, server_default=false()),
    Column("retracted_by", Text),
    Index("examples_observation", "observation_id"),
    Index("examples_newest", "cleaner_version", "config_hash", text("captured_at desc"), "example_id"),
)

retractions = Table(
    "retractions",
    metadata,
    Column("rejection_id", Text, primary_key=True),
    Column("observation_id", Text, nullable=False),
    Column("cleaner_version", Text, nullable=False),
    Column("config_hash", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("rejected_at", DateTime(timezone=True), nullable=False),
    Index("retractions_observation", "observation_id"),
)

build_requests = Table(
    "build_requests",
    metadata,
    Column("command_id", Text, primary_key=True),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("target_size", Integer),
    Column("base_model", Text),
    Column("cycle_id", Text),
    Column("cause", JSONB, nullable=False),
    Column("received_seq", BigInteger, Identity(always=True), nullable=False),
    Column("dataset_id", Text),
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_id", Text, primary_key=True),
    Column("version", Integer, nullable=False, unique=True),
    Column("cycle_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("command_id", Text),
    Column("cause", JSONB),
    Column("base_model", Text, nullable=False),
    Column("epochs", Integer, nullable=False),
    Column("parameters", JSONB, nullable=False),
    Column("high_water_seq", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("1")),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("manifest", JSONB),
    Column("files", JSONB),
    Index("datasets_one_building", "status", unique=True, postgresql_where=text("status = 'building'")),
)

dataset_examples = Table(
    "dataset_examples",
    metadata,
    Column("dataset_id", Text, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), primary_key=True),
    Column("example_id", Text, primary_key=True),
    Column("split", Text, nullable=False),
    Index("dataset_examples_example", "example_id"),
)

build_failures = Table(
    "build_failures",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("dataset_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("command_id", Text),
    Column("reason", Text, nullable=False),
    Column("high_water_seq", BigInteger, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

trigger_state = Table(
    "trigger_state",
    metadata,
    Column("name", Text, primary_key=True),
    Column("expression", Text, nullable=False),
    Column("anchor", DateTime(timezone=True), nullable=False),
)
