"""The ingester's tables (SQLAlchemy Core); the connection's search_path selects its schema."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

watermarks = Table(
    "watermarks", metadata,
    Column("project_id", Text, primary_key=True),
    Column("position", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Per project: every generation that started before `position` has been read."""

published = Table(
    "published", metadata,
    Column("project_id", Text, nullable=False),
    Column("observation_id", Text, nullable=False),
    Column("trace_id", Text, nullable=False),
    Column("session_id", Text, nullable=True),
    Column("start_time", DateTime(timezone=True), nullable=True),
    Column("outcome", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("project_id", "observation_id", name="published_pkey"),
)
"""Every generation already sent to traces.raw (or its dead-letter topic): sent once."""

sent_scores = Table(
    "sent_scores", metadata,
    Column("project_id", Text, nullable=False),
    Column("observation_id", Text, nullable=False),
    Column("score_id", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("project_id", "observation_id", "score_id", name="sent_scores_pkey"),
)
"""Score ids already carried to the stream, in a TraceCaptured or a TraceScored."""

backfills = Table(
    "backfills", metadata,
    Column("backfill_id", Text, primary_key=True),
    Column("project_id", Text, nullable=False),
    Column("from_time", DateTime(timezone=True), nullable=False),
    Column("to_time", DateTime(timezone=True), nullable=False),
    Column("position", DateTime(timezone=True), nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("done", Boolean, nullable=False, server_default="false"),
    Column("counts", JSONB, nullable=False, server_default="{}"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

import_runs = Table(
    "import_runs", metadata,
    Column("run_id", Text, primary_key=True),
    Column("project_id", Text, nullable=False),
    Column("file", Text, nullable=False),
    Column("scores_file", Text, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("bad_lines", Integer, nullable=False, server_default="0"),
    Column("counts", JSONB, nullable=False, server_default="{}"),
)
