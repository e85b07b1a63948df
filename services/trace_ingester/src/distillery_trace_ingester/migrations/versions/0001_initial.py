"""Runtime tables (inbox, outbox) and the ingester's: watermarks, published, scores, runs."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision = "0001"
down_revision = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    op.create_table(
        "watermarks",
        sa.Column("project_id", sa.Text, primary_key=True),
        sa.Column("position", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "published",
        sa.Column("project_id", sa.Text, nullable=False),
        sa.Column("observation_id", sa.Text, nullable=False),
        sa.Column("trace_id", sa.Text, nullable=False),
        sa.Column("session_id", sa.Text, nullable=True),
        sa.Column("start_time", _TS, nullable=True),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("published_at", _TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("project_id", "observation_id", name="published_pkey"),
    )
    op.create_table(
        "sent_scores",
        sa.Column("project_id", sa.Text, nullable=False),
        sa.Column("observation_id", sa.Text, nullable=False),
        sa.Column("score_id", sa.Text, nullable=False),
        sa.Column("sent_at", _TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("project_id", "observation_id", "score_id", name="sent_scores_pkey"),
    )
    op.create_table(
        "backfills",
        sa.Column("backfill_id", sa.Text, primary_key=True),
        sa.Column("project_id", sa.Text, nullable=False),
        sa.Column("from_time", _TS, nullable=False),
        sa.Column("to_time", _TS, nullable=False),
        sa.Column("position", _TS, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("counts", JSONB, nullable=False, server_default="{}"),
        sa.Column("updated_at", _TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "import_runs",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("project_id", sa.Text, nullable=False),
        sa.Column("file", sa.Text, nullable=False),
        sa.Column("scores_file", sa.Text, nullable=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("bad_lines", sa.Integer, nullable=False, server_default="0"),
        sa.Column("counts", JSONB, nullable=False, server_default="{}"),
    )
