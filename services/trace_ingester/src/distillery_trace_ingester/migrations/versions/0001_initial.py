"""Runtime tables (inbox, outbox) and the ingester's: watermarks, published, scores, runs."""

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision, down_revision = "0001", None

# Frozen: deployed databases ran revision 0001, so this text must create exactly their
# schema, and a later change to adapters/tables.py comes with a revision of its own
# (tests/integration/test_migrations_match_tables.py checks that the two agree).
TRACE_INGESTER_TABLES_V1 = """
create table watermarks (
    project_id text not null,
    "position" timestamp with time zone not null,
    updated_at timestamp with time zone default now() not null,
    primary key (project_id)
);
create table published (
    project_id text not null,
    observation_id text not null,
    trace_id text not null,
    session_id text,
    start_time timestamp with time zone,
    outcome text not null,
    published_at timestamp with time zone default now() not null,
    primary key (project_id, observation_id)
);
create table sent_scores (
    project_id text not null,
    observation_id text not null,
    score_id text not null,
    sent_at timestamp with time zone default now() not null,
    primary key (project_id, observation_id, score_id)
);
create table backfills (
    backfill_id text not null,
    project_id text not null,
    from_time timestamp with time zone not null,
    to_time timestamp with time zone not null,
    "position" timestamp with time zone not null,
    requested_by text not null,
    requested_at timestamp with time zone not null,
    done boolean default false not null,
    counts jsonb default '{}' not null,
    updated_at timestamp with time zone default now() not null,
    primary key (backfill_id)
);
create table import_runs (
    run_id text not null,
    project_id text not null,
    file text not null,
    scores_file text,
    started_at timestamp with time zone not null,
    finished_at timestamp with time zone,
    bad_lines integer default 0 not null,
    counts jsonb default '{}' not null,
    primary key (run_id)
);
"""


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    apply(TRACE_INGESTER_TABLES_V1)
