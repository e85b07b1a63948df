"""Runtime tables, jobs with their history, events and checkpoints, uploaded files, model registry."""

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision, down_revision = "0001", None

# Frozen: deployed databases ran revision 0001, so this text must create exactly their
# schema, and a later change to adapters/tables.py comes with a revision of its own
# (tests/integration/test_migrations_match_tables.py checks that the two agree).
FINETUNE_CONTROLLER_TABLES_V1 = """
create table jobs (
    job_id text not null,
    provider text not null,
    account text not null,
    dataset_id text not null,
    dataset_version integer not null,
    cycle_id text,
    base_model text not null,
    train jsonb not null,
    validation jsonb not null,
    hyperparameters jsonb not null,
    suffix text,
    seed bigint,
    cause jsonb not null,
    estimated_cost_usd double precision,
    phase text not null,
    status text,
    provider_job_id text,
    provider_status text,
    training_file_id text,
    validation_file_id text,
    create_attempts integer default 0 not null,
    intent_at timestamp with time zone,
    fine_tuned_model text,
    deployment_name text,
    trained_tokens bigint,
    error jsonb,
    metrics jsonb not null,
    cancel_requested boolean default false not null,
    cancel_reason text,
    cancel_sent boolean default false not null,
    failures integer default 0 not null,
    check_interval_s double precision default '0' not null,
    next_check_at timestamp with time zone not null,
    last_event_id text,
    created_at timestamp with time zone not null,
    updated_at timestamp with time zone not null,
    primary key (job_id),
    unique (provider_job_id)
);
create index jobs_due on jobs (account, phase, next_check_at);
create table job_history (
    job_id text not null,
    status text not null,
    occurred_at timestamp with time zone not null,
    primary key (job_id, status)
);
create table job_events (
    job_id text not null,
    event_id text not null,
    created_at timestamp with time zone not null,
    level text not null,
    type text,
    message text not null,
    data jsonb,
    primary key (job_id, event_id)
);
create table job_checkpoints (
    job_id text not null,
    checkpoint_id text not null,
    step integer not null,
    created_at timestamp with time zone not null,
    model_checkpoint text not null,
    metrics jsonb not null,
    primary key (job_id, checkpoint_id)
);
create table uploaded_files (
    account text not null,
    sha256 text not null,
    file_id text not null,
    filename text not null,
    size_bytes bigint not null,
    uploaded_at timestamp with time zone not null,
    primary key (account, sha256)
);
create table models (
    fine_tuned_model text not null,
    job_id text not null,
    dataset_id text not null,
    cycle_id text,
    base_model text not null,
    provider text not null,
    provider_job_id text,
    deployment_name text,
    trained_tokens bigint,
    metrics jsonb not null,
    status text not null,
    rollout_id text,
    registered_at timestamp with time zone not null,
    status_changed_at timestamp with time zone not null,
    primary key (fine_tuned_model)
);
create index models_deployment on models (deployment_name);
"""


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    apply(FINETUNE_CONTROLLER_TABLES_V1)
