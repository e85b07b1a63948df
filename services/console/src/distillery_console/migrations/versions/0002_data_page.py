"""The Data page's examples and dead letters, and what retention and erasure need of the
evaluation items: when each was scored and the trace it came from."""

from distillery_runtime.migration_steps import apply

revision, down_revision = "0002", "0001"

# Frozen, like 0001: a later change to these tables comes with a revision of its own.
DATA_PAGE_V2 = """
alter table eval_items add column scored_at timestamp with time zone;
alter table eval_items add column trace_id text;
update eval_items set scored_at = cast(payload->>'scored_at' as timestamp with time zone),
                      trace_id = payload->>'trace_id';
alter table eval_items alter column scored_at set not null;
comment on column eval_items.scored_at is 'Retention: rows older than DISTILLERY_CONSOLE_ITEM_RETENTION_DAYS go.';
comment on column eval_items.trace_id is 'Langfuse trace of the prompt: what an erasure matches.';
create index eval_items_age on eval_items (scored_at);
create index eval_items_trace on eval_items (trace_id);
create table examples (
    example_id text not null,
    kind text not null,
    cleaner_version text not null,
    reason text,
    detail text,
    project_id text not null,
    trace_id text not null,
    session_id text,
    observation_id text not null,
    messages jsonb,
    at timestamp with time zone not null,
    primary key (example_id)
);
comment on column examples.example_id is 'example_id of an ExampleAccepted, rejection_id of an ExampleRejected.';
comment on column examples.kind is 'accepted or rejected.';
comment on column examples.reason is 'Rejection reason, null for an accepted example.';
comment on column examples.detail is 'What failed (never PII values, by contract).';
comment on column examples.messages is 'An accepted example''s messages (PII redacted), each cut to what the page shows.';
comment on column examples.at is 'When the cleaner decided, retention runs from it.';
create index examples_page on examples (cleaner_version, kind, reason, at);
create index examples_age on examples (at);
create index examples_session on examples (session_id);
create index examples_trace on examples (trace_id);
create table dead_letters (
    letter_id text not null,
    source_topic text not null,
    source_partition integer,
    source_offset bigint,
    consumer_group text,
    error_type text not null,
    error_message text not null,
    attempts integer not null,
    failed_at timestamp with time zone not null,
    original_key text,
    original_headers jsonb not null,
    original_value text not null,
    original_bytes bigint,
    session_id text,
    trace_id text,
    republished_by text,
    republished_at timestamp with time zone,
    republish_reason text,
    primary key (letter_id)
);
comment on column dead_letters.letter_id is 'Event id of the DeadLettered: one row per message and consumer group.';
comment on column dead_letters.error_type is 'The reason the page groups by.';
comment on column dead_letters.failed_at is 'Retention runs from it.';
comment on column dead_letters.original_value is 'The message body: may hold a caller''s words.';
comment on column dead_letters.original_bytes is 'Set when the letter carries only the body''s beginning.';
comment on column dead_letters.session_id is 'Session the message names, when it names one: what an erasure matches.';
comment on column dead_letters.trace_id is 'Trace the message names, when it names one.';
comment on column dead_letters.republished_by is 'The operator who put the message back on its topic.';
create index dead_letters_page on dead_letters (source_topic, error_type, failed_at);
create index dead_letters_age on dead_letters (failed_at);
create index dead_letters_session on dead_letters (session_id);
create index dead_letters_trace on dead_letters (trace_id);
"""

DATA_PAGE_V2_DOWN = """
drop table dead_letters;
drop table examples;
drop index eval_items_trace;
drop index eval_items_age;
alter table eval_items drop column trace_id;
alter table eval_items drop column scored_at;
"""


def upgrade() -> None:
    apply(DATA_PAGE_V2)


def downgrade() -> None:
    apply(DATA_PAGE_V2_DOWN)
