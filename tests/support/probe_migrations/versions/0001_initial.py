"""Runtime tables and the probe's table."""

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision, down_revision = "0001", None

PROBE_TABLES_V1 = """
create table seen (
    observation_id text not null,
    session_id text,
    applied integer default 1 not null,
    primary key (observation_id)
);
"""


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    apply(PROBE_TABLES_V1)
