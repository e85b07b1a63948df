"""Runtime tables, rollouts, decisions, route state, observed calls and traffic."""

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision, down_revision = "0001", None

# Frozen: deployed databases ran revision 0001, so this text must create exactly their
# schema, and a later change to adapters/tables.py comes with a revision of its own
# (tests/integration/test_migrations_match_tables.py checks that the two agree).
ROLLOUT_CONTROLLER_TABLES_V1 = """
create sequence rollout_numbers;
create table route_state (
    route text not null,
    version integer not null,
    rollout_id text,
    production_model text,
    route_table jsonb not null,
    updated_at timestamp with time zone not null,
    primary key (route)
);
comment on column route_state.route_table is 'The RouteTableUpdated in force.';
create table rollouts (
    rollout_id text not null,
    route text not null,
    eval_run_id text,
    cycle_id text,
    candidate_model text not null,
    previous_model text,
    teacher_model text not null,
    status text not null,
    stage_index integer not null,
    stage_started_at timestamp with time zone,
    decisions_made integer not null,
    last_hold_code text,
    last_evaluated_at timestamp with time zone,
    last_gates jsonb not null,
    last_metrics jsonb not null,
    created_at timestamp with time zone not null,
    ended_at timestamp with time zone,
    end_reason text,
    primary key (rollout_id),
    unique (eval_run_id)
);
create index rollouts_route_status on rollouts (route, status);
create table decisions (
    decision_id text not null,
    rollout_id text not null,
    decision text not null,
    stage_index integer not null,
    actor text not null,
    decided_at timestamp with time zone not null,
    payload jsonb not null,
    primary key (decision_id)
);
create index decisions_rollout on decisions (rollout_id, decided_at);
comment on column decisions.payload is 'The RolloutDecided as published.';
create table observations (
    observation_id text not null,
    rollout_id text not null,
    stage_index integer not null,
    arm text not null,
    model text,
    observed_at timestamp with time zone not null,
    latency_ms double precision,
    error boolean,
    cost_usd double precision,
    hallucinated boolean,
    judge_outcome text,
    similarity double precision,
    scored boolean not null,
    primary key (observation_id)
);
create index observations_window on observations (rollout_id, stage_index, arm);
create table traffic (
    hour timestamp with time zone not null,
    model text not null,
    calls bigint not null,
    priced_calls bigint not null,
    cost_usd double precision not null,
    input_tokens bigint not null,
    output_tokens bigint not null,
    first_at timestamp with time zone not null,
    last_at timestamp with time zone not null,
    primary key (hour, model)
);
"""


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    apply(ROLLOUT_CONTROLLER_TABLES_V1)
