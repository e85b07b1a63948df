"""Runtime tables, the example store, the dataset registry and the build bookkeeping."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision = "0001"
down_revision = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    op.create_table(
        "examples",
        sa.Column("example_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("observation_id", sa.Text, nullable=False),
        sa.Column("project_id", sa.Text, nullable=False),
        sa.Column("trace_id", sa.Text, nullable=False),
        sa.Column("session_id", sa.Text),
        sa.Column("session_key", sa.Text, nullable=False),
        sa.Column("captured_at", TIME, nullable=False),
        sa.Column("accepted_at", TIME, nullable=False),
        sa.Column("stored_at", TIME, nullable=False, server_default=sa.func.now()),
        sa.Column("cleaner_version", sa.Text, nullable=False),
        sa.Column("config_hash", sa.Text, nullable=False),
        sa.Column("source_model", sa.Text),
        sa.Column("tags", ARRAY(sa.Text), nullable=False),
        sa.Column("intent", sa.Text),
        sa.Column("token_count", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("body_bytes", sa.Integer, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False),
        sa.Column("token_encoding", sa.Text, nullable=False),
        sa.Column("retracted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("retracted_by", sa.Text),
    )
    if _server_has_lz4():
        # Builds read every chosen line; lz4 decompresses them a third faster than pglz.
        op.execute("alter table examples alter column body set compression lz4")
    op.create_index("examples_observation", "examples", ["observation_id"])
    op.create_index("examples_newest", "examples",
                    ["cleaner_version", "config_hash", sa.text("captured_at desc"), "example_id"])
    op.create_table(
        "retractions",
        sa.Column("rejection_id", sa.Text, primary_key=True),
        sa.Column("observation_id", sa.Text, nullable=False),
        sa.Column("cleaner_version", sa.Text, nullable=False),
        sa.Column("config_hash", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("rejected_at", TIME, nullable=False),
    )
    op.create_index("retractions_observation", "retractions", ["observation_id"])
    op.create_table(
        "build_requests",
        sa.Column("command_id", sa.Text, primary_key=True),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("target_size", sa.Integer),
        sa.Column("base_model", sa.Text),
        sa.Column("cycle_id", sa.Text),
        sa.Column("cause", JSONB, nullable=False),
        sa.Column("received_seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("dataset_id", sa.Text),
    )
    op.create_table(
        "datasets",
        sa.Column("dataset_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, unique=True),
        sa.Column("cycle_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("command_id", sa.Text),
        sa.Column("cause", JSONB),
        sa.Column("base_model", sa.Text, nullable=False),
        sa.Column("epochs", sa.Integer, nullable=False),
        sa.Column("parameters", JSONB, nullable=False),
        sa.Column("high_water_seq", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("started_at", TIME, nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", TIME),
        sa.Column("manifest", JSONB),
        sa.Column("files", JSONB),
        sa.CheckConstraint("status in ('building', 'published')", name="datasets_status"),
    )
    op.create_index("datasets_one_building", "datasets", ["status"], unique=True,
                    postgresql_where=sa.text("status = 'building'"))
    op.create_table(
        "dataset_examples",
        sa.Column("dataset_id", sa.Text, sa.ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("example_id", sa.Text, primary_key=True),
        sa.Column("split", sa.Text, nullable=False),
        sa.CheckConstraint("split in ('train', 'validation')", name="dataset_examples_split"),
    )
    op.create_index("dataset_examples_example", "dataset_examples", ["example_id"])
    op.create_table(
        "build_failures",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("command_id", sa.Text),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("high_water_seq", sa.BigInteger, nullable=False),
        sa.Column("failed_at", TIME, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "trigger_state",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("expression", sa.Text, nullable=False),
        sa.Column("anchor", TIME, nullable=False),
    )


def _server_has_lz4() -> bool:
    """Whether the server was built with lz4 (PostgreSQL 14 and later may be)."""
    query = sa.text("select 'lz4' = any(enumvals) from pg_settings where name = 'default_toast_compression'")
    return bool(op.get_bind().execute(query).scalar())
