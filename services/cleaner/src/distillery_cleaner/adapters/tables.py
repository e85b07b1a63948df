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
late_scores:     scores that reached Langfuse after their generation was published, kept
                 for CleanerSettings.late_score_retention_days after they last changed.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Identity, Index, LargeBinary, MetaData, Table, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from distillery_runtime.tables import Timestamp, key, optional, required, timestamp_now

metadata = MetaData()

config_versions = Table(
    "config_versions", metadata,
    key("scope_id", BigInteger),
    required("cleaner_version", Text),
    required("config_hash", Text),
    required("config", JSONB),
    timestamp_now("registered_at"),
    UniqueConstraint("cleaner_version", "config_hash", name="config_versions_version_hash_key"),
)

examples = Table(
    "examples", metadata,
    key("scope_id", BigInteger),
    key("content_hash", Text),
    required("example_id", Text),
    required("rank", BigInteger, Identity(always=True)),
    required("project_id", Text),
    required("observation_id", Text),
    required("trace_id", Text),
    optional("session_id", Text),
    required("session_key", Text),
    required("captured_at", Timestamp),
    optional("model", Text),
    optional("signature", LargeBinary),
    required("band_keys", ARRAY(BigInteger), server_default=text("'{}'")),
    timestamp_now("accepted_at"),
    optional("retracted_at", Timestamp),
    Index("examples_observation_idx", "scope_id", "observation_id"),
    Index("examples_rank_key", "rank", unique=True),
    Index("examples_accepted_at_idx", "accepted_at"),
)

example_bands = Table(
    "example_bands", metadata,
    key("scope_id", BigInteger),
    key("band_key", BigInteger),
    key("rank", BigInteger),
)

late_scores = Table(
    "late_scores", metadata,
    key("project_id", Text),
    key("observation_id", Text),
    required("scores", JSONB),
    timestamp_now("updated_at"),
    Index("late_scores_updated_at_idx", "updated_at"),
)
