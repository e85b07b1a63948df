"""Runtime tables, configuration versions, the dedup index and late scores."""

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision, down_revision = "0001", None

# Frozen: deployed databases ran revision 0001, so this text must create exactly their
# schema, and a later change to adapters/tables.py comes with a revision of its own
# (tests/integration/test_migrations_match_tables.py checks that the two agree).
CLEANER_TABLES_V1 = """
create table config_versions (
    scope_id bigserial not null,
    cleaner_version text not null,
    config_hash text not null,
    config jsonb not null,
    registered_at timestamp with time zone default now() not null,
    primary key (scope_id),
    constraint config_versions_version_hash_key unique (cleaner_version, config_hash)
);
create table examples (
    scope_id bigint not null,
    content_hash text not null,
    example_id text not null,
    rank bigint generated always as identity,
    project_id text not null,
    observation_id text not null,
    trace_id text not null,
    session_id text,
    session_key text not null,
    captured_at timestamp with time zone not null,
    model text,
    signature bytea,
    band_keys bigint[] default '{}' not null,
    accepted_at timestamp with time zone default now() not null,
    retracted_at timestamp with time zone,
    primary key (scope_id, content_hash)
);
create index examples_observation_idx on examples (scope_id, observation_id);
create unique index examples_rank_key on examples (rank);
create table example_bands (
    scope_id bigint not null,
    band_key bigint not null,
    rank bigint not null,
    primary key (scope_id, band_key, rank)
);
create table late_scores (
    project_id text not null,
    observation_id text not null,
    scores jsonb not null,
    updated_at timestamp with time zone default now() not null,
    primary key (project_id, observation_id)
);
"""
"""Scope ids are derived from the version and hash; ``bigserial`` is how the first release
created that primary key (an unused sequence), kept so every database has the same schema."""


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    apply(CLEANER_TABLES_V1)
