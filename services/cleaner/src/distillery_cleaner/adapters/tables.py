"""The cleaner's own tables (schema ``cleaner``, chosen by the connection's search_path).

config_versions: every (code version, configuration) the cleaner has run under, with the
                 configuration itself; its scope id (derived from both) scopes the dedup
                 index, so a new version builds a complete index of its own.
examples:        the dedup index: one row per accepted example and scope, with its content
                 hash (exact duplicates), MinHash signature and band keys (near duplicates)
                 and its lineage (for retractions); ``rank`` is its order of indexing.
example_bands:   one row per (scope, LSH band key, example rank): what a batch's band keys
                 are looked up in (a B-tree; an array overlap on a GIN index rechecks every
                 candidate row against the whole key list, which is quadratic).
late_scores:     scores that reached Langfuse after their generation was published.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

config_versions = Table(
    "config_versions",
    metadata,
    Column("scope_id", BigInteger, primary_key=True),
    Column("cleaner_version", Text, nullable=False),
    Column("config_hash", Text, nullable=False),
    Column("config", JSONB, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("cleaner_version", "config_hash", name="config_versions_version_hash_key"),
)

examples = Table(
    "examples",
    metadata,
    Column("scope_id", BigInteger, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("example_id", Text, nullable=False),
    Column("rank", BigInteger, Identity(always=True), nullable=False),
    Column("project_id", Text, nullable=False),
    Column("observation_id", Text, nullable=False),
    Column("trace_id", Text, nullable=False),
    Column("session_id", Text, nullable=True),
    Column("session_key", Text, nullable=False),
    Column("captured_at", DateTime(timezone=True), nullable=False),
    Column("model", Text, nullable=True),
    Column("signature", LargeBinary, nullable=True),
    Column("band_keys", ARRAY(BigInteger), nullable=False, server_default=text("'{}'")),
    Column("accepted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retracted_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("scope_id", "content_hash", name="examples_pkey"),
    Index("examples_observation_idx", "scope_id", "observation_id"),
    Index("examples_rank_key", "rank", unique=True),
)

example_bands = Table(
    "example_bands",
    metadata,
    Column("scope_id", BigInteger, nullable=False),
    Column("band_key", BigInteger, nullable=False),
    Column("rank", BigInteger, nullable=False),
    PrimaryKeyConstraint("scope_id", "band_key", "rank", name="example_bands_pkey"),
)

late_scores = Table(
    "late_scores",
    metadata,
    Column("project_id", Text, nullable=False),
    Column("observation_id", Text, nullable=False),
    Column("scores", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("project_id", "observation_id", name="late_scores_pkey"),
)
