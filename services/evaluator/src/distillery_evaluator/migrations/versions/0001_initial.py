"""Runtime tables and the evaluator's own: remembered events, runs, answers, scores, online queue."""

from alembic import op

from distillery_runtime.migration_steps import RUNTIME_TABLES_V1, apply

revision = "0001"
down_revision = None

# Frozen DDL of the first schema (later revisions alter it; tables.py describes the latest).
TABLES = (
    """CREATE TABLE answers (
    run_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    role TEXT NOT NULL,
    model TEXT NOT NULL,
    text TEXT,
    tool_calls JSONB,
    latency_ms FLOAT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cached_input_tokens INTEGER,
    error TEXT,
    attempts INTEGER NOT NULL,
    answered_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (run_id, item_id, role)
)
    """,
    """CREATE TABLE datasets (
    dataset_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    cycle_id TEXT,
    validation_uri TEXT NOT NULL,
    validation_sha256 TEXT NOT NULL,
    built_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (dataset_id)
)
    """,
    """CREATE TABLE eval_sets (
    version TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    source TEXT NOT NULL,
    first_used_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (version)
)
    """,
    """CREATE TABLE models (
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    deployment TEXT,
    job_id TEXT,
    dataset_id TEXT,
    seen_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (model)
)
    """,
    """CREATE TABLE online_queue (
    observation_id TEXT NOT NULL,
    rollout_id TEXT NOT NULL,
    trace JSONB NOT NULL,
    cause JSONB NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER DEFAULT '0' NOT NULL,
    not_before TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    enqueued_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (observation_id)
)
    """,
    """CREATE TABLE online_scores (
    observation_id TEXT NOT NULL,
    rollout_id TEXT NOT NULL,
    arm TEXT NOT NULL,
    model TEXT NOT NULL,
    scored JSONB NOT NULL,
    teacher_answer TEXT,
    findings JSONB NOT NULL,
    scored_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (observation_id)
)
    """,
    """CREATE TABLE rollouts (
    rollout_id TEXT NOT NULL,
    candidate_model TEXT NOT NULL,
    previous_model TEXT,
    teacher_model TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    last_decision TEXT NOT NULL,
    decided_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (rollout_id)
)
    """,
    """CREATE TABLE routes (
    route TEXT NOT NULL,
    version INTEGER NOT NULL,
    rollout_id TEXT,
    arms JSONB NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (route)
)
    """,
    """CREATE TABLE run_items (
    run_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    set_name TEXT NOT NULL,
    item JSONB NOT NULL,
    PRIMARY KEY (run_id, item_id)
)
    """,
    """CREATE TABLE runs (
    run_id TEXT NOT NULL,
    status TEXT NOT NULL,
    trigger TEXT NOT NULL,
    request JSONB NOT NULL,
    cause JSONB,
    lease_until TIMESTAMP WITH TIME ZONE,
    requested_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE,
    outcome TEXT,
    result JSONB,
    notes JSONB,
    PRIMARY KEY (run_id)
)
    """,
    """CREATE TABLE scores (
    run_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    role TEXT NOT NULL,
    scorer TEXT NOT NULL,
    value FLOAT,
    label TEXT,
    detail JSONB NOT NULL,
    PRIMARY KEY (run_id, item_id, role, scorer)
)
    """,
)


def upgrade() -> None:
    apply(RUNTIME_TABLES_V1)
    for statement in TABLES:
        op.execute(statement)
