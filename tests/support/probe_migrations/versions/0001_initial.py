"""Runtime tables and the probe's table."""

import sqlalchemy as sa
from alembic import op

from distillery_runtime.migrations import create_runtime_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_runtime_tables(op.get_bind())
    op.create_table(
        "seen",
        sa.Column("observation_id", sa.Text, primary_key=True),
        sa.Column("session_id", sa.Text),
        sa.Column("applied", sa.Integer, nullable=False, server_default="1"),
    )
