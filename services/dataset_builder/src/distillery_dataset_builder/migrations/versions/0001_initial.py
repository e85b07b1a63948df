"""Runtime tables, the example store, the dataset registry and the build bookkeeping."""

import sqlalchemy as sa
from alembic import op

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision, down_revision = "0001", None

# Frozen: deployed databases ran revision 0001, so this text must create exactly their
# schema, and a later change to adapters/tables.py comes with a revision of its own
# (tests/integration/test_migrations_match_tables.py checks that the two agree).
DATASET_BUILDER_TABLES_V1 = """
create table examples (
    example_id text not null,
    seq bigint generated always as identity,
    observation_id text not null,
    project_id text not null,
    trace_id text not null,
    session_id text,
    session_key text not null,
    captured_at timestamp with time zone not null,
    accepted_at timestamp with time zone not null,
    stored_at timestamp with time zone default now() not null,
    cleaner_version text not null,
    config_hash text not null,
    source_model text,
    tags text[] not null,
    intent text,
    token_count integer not null,
    body text not null,
    body_bytes integer not null,
    signature bytea not null,
    tokens integer not null,
    token_encoding text not null,
    retracted boolean default false not null,
    retracted_by text,
    primary key (example_id),
    unique (seq)
);
create index examples_observation on examples (observation_id);
create index examples_newest on examples (cleaner_version, config_hash, captured_at desc, example_id);
create table retractions (
    rejection_id text not null,
    observation_id text not null,
    cleaner_version text not null,
    config_hash text not null,
    reason text not null,
    rejected_at timestamp with time zone not null,
    primary key (rejection_id)
);
create index retractions_observation on retractions (observation_id);
create table build_requests (
    command_id text not null,
    requested_by text not null,
    requested_at timestamp with time zone not null,
    target_size integer,
    base_model text,
    cycle_id text,
    cause jsonb not null,
    received_seq bigint generated always as identity,
    dataset_id text,
    primary key (command_id)
);
create table datasets (
    dataset_id text not null,
    version integer not null,
    cycle_id text not null,
    status text not null,
    trigger text not null,
    command_id text,
    cause jsonb,
    base_model text not null,
    epochs integer not null,
    parameters jsonb not null,
    high_water_seq bigint not null,
    attempts integer default 1 not null,
    started_at timestamp with time zone default now() not null,
    published_at timestamp with time zone,
    manifest jsonb,
    files jsonb,
    primary key (dataset_id),
    unique (version),
    constraint datasets_status check (status in ('building', 'published'))
);
create unique index datasets_one_building on datasets (status) where status = 'building';
create table dataset_examples (
    dataset_id text not null references datasets (dataset_id) on delete cascade,
    example_id text not null,
    split text not null,
    primary key (dataset_id, example_id),
    constraint dataset_examples_split check (split in ('train', 'validation'))
);
create index dataset_examples_example on dataset_examples (example_id);
create table build_failures (
    id bigint generated always as identity,
    dataset_id text not null,
    version integer not null,
    trigger text not null,
    command_id text,
    reason text not null,
    high_water_seq bigint not null,
    failed_at timestamp with time zone default now() not null,
    primary key (id)
);
create table trigger_state (
    name text not null,
    expression text not null,
    anchor timestamp with time zone not null,
    primary key (name)
);
"""

LZ4_BODIES = "alter table examples alter column body set compression lz4"
"""Builds read every chosen line; lz4 decompresses them a third faster than pglz."""


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    apply(DATASET_BUILDER_TABLES_V1)
    if _server_has_lz4():
        op.execute(LZ4_BODIES)


def _server_has_lz4() -> bool:
    """Whether the server was built with lz4 (PostgreSQL 14 and later may be)."""
    query = sa.text("select 'lz4' = any(enumvals) from pg_settings where name = 'default_toast_compression'")
    return bool(op.get_bind().execute(query).scalar())
