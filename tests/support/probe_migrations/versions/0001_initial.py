"""Runtime tables and the probe's table."""

import sqlalchemy as sa
from alembic import op

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision = "0001"
down_revision = None


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    op.create_table(
        "seen",
        sa.Column("observation_id", sa.Text, primary_key=True),
        sa.Column("session_id", sa.Text),
        sa.Column("applied", sa.Integer, nullable=False, server_default="1"),
    )
