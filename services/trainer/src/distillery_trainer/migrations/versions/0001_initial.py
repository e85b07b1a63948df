"""Runtime tables, uploaded files, training jobs with their events and checkpoints."""

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision, down_revision = "0001", None

# Frozen: deployed databases ran revision 0001, so this text must create exactly their
# schema, and a later change to adapters/tables.py comes with a revision of its own
# (tests/integration/test_migrations_match_tables.py checks that the two agree).
TRAINER_TABLES_V1 = """
create table files (
    file_id text not null,
    filename text not null,
    purpose text not null,
    bytes bigint not null,
    sha256 text not null,
    examples integer not null,
    status text not null,
    status_details text,
    created_at timestamp with time zone not null,
    primary key (file_id)
);
create table jobs (
    job_id text not null,
    base_model text not null,
    training_file text not null,
    validation_file text,
    suffix text,
    seed bigint,
    metadata jsonb not null,
    requested jsonb not null,
    settings jsonb not null,
    status text not null,
    created_at timestamp with time zone not null,
    started_at timestamp with time zone,
    finished_at timestamp with time zone,
    fine_tuned_model text,
    trained_tokens bigint,
    error jsonb,
    adapter jsonb,
    cancel_requested boolean default false not null,
    attempts integer default 0 not null,
    primary key (job_id)
);
create index jobs_by_status on jobs (status, created_at);
create index jobs_by_age on jobs (created_at, job_id);
create table job_events (
    seq bigint generated always as identity,
    job_id text not null,
    event_id text not null,
    created_at timestamp with time zone not null,
    level text not null,
    type text not null,
    message text not null,
    data jsonb,
    primary key (seq),
    unique (event_id)
);
create index job_events_by_job on job_events (job_id, seq);
create table checkpoints (
    checkpoint_id text not null,
    job_id text not null,
    step integer not null,
    created_at timestamp with time zone not null,
    metrics jsonb not null,
    model_checkpoint text not null,
    primary key (checkpoint_id)
);
create unique index checkpoints_by_job on checkpoints (job_id, step);
"""


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    apply(TRAINER_TABLES_V1)
