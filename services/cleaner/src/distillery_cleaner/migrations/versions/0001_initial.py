"""Runtime tables, configuration versions, the dedup index and late scores.

Written out rather than created from ``adapters/tables.py``: a later change to the
tables must come with its own revision, not silently change this one.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision = "0001"
down_revision = None


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    op.create_table(
        "config_versions",
        sa.Column("scope_id", sa.BigInteger, primary_key=True),
        sa.Column("cleaner_version", sa.Text, nullable=False),
        sa.Column("config_hash", sa.Text, nullable=False),
        sa.Column("config", JSONB, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("cleaner_version", "config_hash", name="config_versions_version_hash_key"),
    )
    op.create_table(
        "examples",
        sa.Column("scope_id", sa.BigInteger, nullable=False),
        sa.Column("content_hash", sa.Text, nullable=False),
        sa.Column("example_id", sa.Text, nullable=False),
        sa.Column("rank", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("project_id", sa.Text, nullable=False),
        sa.Column("observation_id", sa.Text, nullable=False),
        sa.Column("trace_id", sa.Text, nullable=False),
        sa.Column("session_id", sa.Text, nullable=True),
        sa.Column("session_key", sa.Text, nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.Text, nullable=True),
        sa.Column("signature", sa.LargeBinary, nullable=True),
        sa.Column("band_keys", ARRAY(sa.BigInteger), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope_id", "content_hash", name="examples_pkey"),
    )
    op.create_index("examples_observation_idx", "examples", ["scope_id", "observation_id"])
    op.create_index("examples_rank_key", "examples", ["rank"], unique=True)
    op.create_table(
        "example_bands",
        sa.Column("scope_id", sa.BigInteger, nullable=False),
        sa.Column("band_key", sa.BigInteger, nullable=False),
        sa.Column("rank", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("scope_id", "band_key", "rank", name="example_bands_pkey"),
    )
    op.create_table(
        "late_scores",
        sa.Column("project_id", sa.Text, nullable=False),
        sa.Column("observation_id", sa.Text, nullable=False),
        sa.Column("scores", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("project_id", "observation_id", name="late_scores_pkey"),
    )
