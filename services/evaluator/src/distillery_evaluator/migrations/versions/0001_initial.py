"""Runtime tables and the evaluator's own: remembered events, runs, answers, scores, online queue."""

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision, down_revision = "0001", None

# Frozen: deployed databases ran revision 0001, so this text must create exactly their
# schema, and a later change to adapters/tables.py comes with a revision of its own
# (tests/integration/test_migrations_match_tables.py checks that the two agree).
EVALUATOR_TABLES_V1 = """
create table answers (
    run_id text not null,
    item_id text not null,
    role text not null,
    model text not null,
    text text,
    tool_calls jsonb,
    latency_ms double precision,
    input_tokens integer,
    output_tokens integer,
    cached_input_tokens integer,
    error text,
    attempts integer not null,
    answered_at timestamp with time zone default now() not null,
    primary key (run_id, item_id, role)
);
create table datasets (
    dataset_id text not null,
    version integer not null,
    cycle_id text,
    validation_uri text not null,
    validation_sha256 text not null,
    built_at timestamp with time zone not null,
    primary key (dataset_id)
);
create table eval_sets (
    version text not null,
    name text not null,
    size integer not null,
    source text not null,
    first_used_at timestamp with time zone default now() not null,
    primary key (version)
);
create table models (
    model text not null,
    provider text not null,
    deployment text,
    job_id text,
    dataset_id text,
    seen_at timestamp with time zone default now() not null,
    primary key (model)
);
create table online_queue (
    observation_id text not null,
    rollout_id text not null,
    trace jsonb not null,
    cause jsonb not null,
    status text not null,
    attempts integer default 0 not null,
    not_before timestamp with time zone default now() not null,
    enqueued_at timestamp with time zone default now() not null,
    primary key (observation_id)
);
create table online_scores (
    observation_id text not null,
    rollout_id text not null,
    arm text not null,
    model text not null,
    scored jsonb not null,
    teacher_answer text,
    findings jsonb not null,
    scored_at timestamp with time zone not null,
    primary key (observation_id)
);
create table rollouts (
    rollout_id text not null,
    candidate_model text not null,
    previous_model text,
    teacher_model text not null,
    active boolean not null,
    last_decision text not null,
    decided_at timestamp with time zone not null,
    primary key (rollout_id)
);
create table routes (
    route text not null,
    version integer not null,
    rollout_id text,
    arms jsonb not null,
    updated_at timestamp with time zone not null,
    primary key (route)
);
create table run_items (
    run_id text not null,
    item_id text not null,
    set_name text not null,
    item jsonb not null,
    primary key (run_id, item_id)
);
create table runs (
    run_id text not null,
    status text not null,
    trigger text not null,
    request jsonb not null,
    cause jsonb,
    lease_until timestamp with time zone,
    requested_at timestamp with time zone default now() not null,
    started_at timestamp with time zone,
    completed_at timestamp with time zone,
    outcome text,
    result jsonb,
    notes jsonb,
    primary key (run_id)
);
create table scores (
    run_id text not null,
    item_id text not null,
    role text not null,
    scorer text not null,
    value double precision,
    label text,
    detail jsonb not null,
    primary key (run_id, item_id, role, scorer)
);
"""


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    apply(EVALUATOR_TABLES_V1)
