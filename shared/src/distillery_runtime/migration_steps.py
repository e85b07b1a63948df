"""Frozen schema steps that every service's migrations apply to the runtime's own tables.

A migration must do tomorrow exactly what it did when it was written, so these steps are
literal SQL and are never edited: a change to the inbox or outbox is a new step here and
a new revision in each service (``tests`` pin every step's text). ``tables.py`` describes
the tables as they are after the latest step, for the code that reads and writes them; a
test checks that each service's migrated schema equals its table definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic import op

RUNTIME_TABLES_V1 = """
create table inbox (
    consumer text not null,
    event_id text not null,
    applied_at timestamp with time zone default now() not null,
    constraint inbox_pkey primary key (consumer, event_id)
);
create table outbox (
    id bigint generated always as identity,
    topic text not null,
    key text,
    event_id text not null,
    event_type text not null,
    schema_version integer not null,
    headers jsonb not null,
    payload bytea not null,
    created_at timestamp with time zone default now() not null,
    primary key (id),
    unique (event_id)
);
"""
"""The inbox (which events each consumer applied) and the outbox (events awaiting the relay)."""

OUTBOX_UNCOMPRESSED_V2 = """
alter table outbox alter column payload set storage external;
alter table outbox set (toast_tuple_target = 8160);
"""
"""Outbox payloads inline and uncompressed.

An outbox row lives for well under a second: written, read back once by the relay and
deleted. By default PostgreSQL compresses (pglz) and moves out of line any payload above
2 KB, which for events of several KB cost the database about three times the insert.
"""

OUTBOX_COMPRESSED_V2_DOWN = """
alter table outbox alter column payload set storage extended;
alter table outbox reset (toast_tuple_target);
"""

INBOX_BY_AGE_V3 = """
create index inbox_consumer_applied_at_idx on inbox (consumer, applied_at);
"""
"""The inbox by consumer and age: what :mod:`distillery_runtime.retention` deletes, found
without reading the rows it keeps."""

INBOX_BY_AGE_V3_DOWN = """
drop index inbox_consumer_applied_at_idx;
"""


def apply(step: str) -> None:
    """Run a step's statements one by one (asyncpg prepares each statement on its own)."""
    for statement in step.split(";"):
        if statement.strip():
            op.execute(statement)


@dataclass(frozen=True)
class Revision:
    """A revision's frozen steps up and down, for a revision module to say
    ``upgrade, downgrade = outbox_uncompressed.upgrade, outbox_uncompressed.downgrade``."""

    up: str
    down: str

    def upgrade(self) -> None:
        apply(self.up)

    def downgrade(self) -> None:
        apply(self.down)


outbox_uncompressed = Revision(OUTBOX_UNCOMPRESSED_V2, OUTBOX_COMPRESSED_V2_DOWN)
"""Revision 0002 of every service."""

inbox_by_age = Revision(INBOX_BY_AGE_V3, INBOX_BY_AGE_V3_DOWN)
"""Revision 0003 of every service (0004 where 0003 was taken)."""
