"""Runtime tables and the console's read model."""

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, INBOX_BY_AGE_V3, OUTBOX_UNCOMPRESSED_V2, apply

revision, down_revision = "0001", None

# Frozen: deployed databases ran revision 0001, so this text must create exactly their
# schema; a later change to adapters/tables.py comes with a revision of its own.
CONSOLE_TABLES_V1 = """
create table route_tables (
    route text not null,
    version integer not null,
    rollout_id text,
    payload jsonb not null,
    updated_at timestamp with time zone not null,
    primary key (route)
);
comment on column route_tables.payload is 'The latest RouteTableUpdated of the route.';
create table cycles (
    cycle_id text not null,
    started_at timestamp with time zone not null,
    updated_at timestamp with time zone not null,
    phase text not null,
    candidate_model text,
    primary key (cycle_id)
);
comment on column cycles.updated_at is 'Time of the latest event: an older event never moves the phase back.';
create index cycles_started on cycles (started_at);
create table datasets (
    dataset_id text not null,
    cycle_id text,
    version integer not null,
    built_at timestamp with time zone not null,
    payload jsonb not null,
    primary key (dataset_id)
);
comment on column datasets.payload is 'The DatasetBuilt.';
create index datasets_cycle on datasets (cycle_id);
create table job_events (
    event_id text not null,
    job_id text not null,
    cycle_id text,
    status text not null,
    step integer,
    train_loss double precision,
    valid_loss double precision,
    occurred_at timestamp with time zone not null,
    primary key (event_id)
);
create index job_events_cycle on job_events (cycle_id, occurred_at);
create table evaluations (
    run_id text not null,
    cycle_id text,
    outcome text not null,
    completed_at timestamp with time zone not null,
    payload jsonb not null,
    primary key (run_id)
);
comment on column evaluations.payload is 'The EvaluationCompleted.';
create index evaluations_cycle on evaluations (cycle_id);
create table eval_items (
    run_id text not null,
    item_id text not null,
    position integer not null,
    failing boolean not null,
    payload jsonb not null,
    primary key (run_id, item_id)
);
comment on column eval_items.payload is 'The EvaluationItemScored.';
create index eval_items_page on eval_items (run_id, failing, position);
create table decisions (
    decision_id text not null,
    rollout_id text not null,
    cycle_id text,
    decided_at timestamp with time zone not null,
    payload jsonb not null,
    primary key (decision_id)
);
comment on column decisions.payload is 'The RolloutDecided.';
create index decisions_cycle on decisions (cycle_id, decided_at);
create index decisions_rollout on decisions (rollout_id, decided_at);
create table rejections (
    cleaner_version text not null,
    reason text not null,
    examples bigint not null,
    primary key (cleaner_version, reason)
);
create table operator_actions (
    action_id text not null,
    rollout_id text not null,
    action text not null,
    operator text not null,
    reason text,
    requested_at timestamp with time zone not null,
    primary key (action_id)
);
create index operator_actions_rollout on operator_actions (rollout_id, requested_at);
"""


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    apply(OUTBOX_UNCOMPRESSED_V2)
    apply(INBOX_BY_AGE_V3)
    apply(CONSOLE_TABLES_V1)
