"""The ingester's tables (SQLAlchemy Core); the connection's search_path selects its schema."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from distillery_runtime.tables import Timestamp, key, optional, required, timestamp_now

metadata = MetaData()

watermarks = Table(
    "watermarks", metadata,
    key("project_id", Text),
    required("position", Timestamp),
    timestamp_now("updated_at"),
)
"""Per project: every generation that started before `position` has been read."""

published = Table(
    "published", metadata,
    key("project_id", Text),
    key("observation_id", Text),
    required("trace_id", Text),
    optional("session_id", Text),
    optional("start_time", Timestamp),
    required("outcome", Text),
    timestamp_now("published_at"),
)
"""Every generation already sent to traces.raw (or its dead-letter topic): sent once."""

sent_scores = Table(
    "sent_scores", metadata,
    key("project_id", Text),
    key("observation_id", Text),
    key("score_id", Text),
    timestamp_now("sent_at"),
)
"""Score ids already carried to the stream, in a TraceCaptured or a TraceScored."""

backfills = Table(
    "backfills", metadata,
    key("backfill_id", Text),
    required("project_id", Text),
    required("from_time", Timestamp),
    required("to_time", Timestamp),
    required("position", Timestamp),
    required("requested_by", Text),
    required("requested_at", Timestamp),
    required("done", Boolean, server_default="false"),
    required("counts", JSONB, server_default="{}"),
    timestamp_now("updated_at"),
)

import_runs = Table(
    "import_runs", metadata,
    key("run_id", Text),
    required("project_id", Text),
    required("file", Text),
    optional("scores_file", Text),
    required("started_at", Timestamp),
    optional("finished_at", Timestamp),
    required("bad_lines", Integer, server_default="0"),
    required("counts", JSONB, server_default="{}"),
)
