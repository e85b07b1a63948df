"""The runtime's own tables, created in every service's schema by its first migration, and
the column vocabulary every service's ``adapters/tables.py`` is written in.

inbox:  which events each consumer has applied (a redelivery is then a no-op); rows past
        their retention are deleted (retention.py).
outbox: events written in the same transaction as the state change, published by the relay.

Each column says whether it may be null (``key``, ``required``, ``optional``), as the DDL of
the frozen migrations does, instead of leaving it to ``Column``'s default (nullable).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Integer, LargeBinary, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

Timestamp = DateTime(timezone=True)
"""``timestamp with time zone``: every moment is stored with its offset."""


def key(name: str, type_: TypeEngine[Any] | type[TypeEngine[Any]], *args: Any, **column: Any) -> Column[Any]:
    """A primary-key column; several make a composite key, in the order they are declared."""
    return Column(name, type_, *args, primary_key=True, **column)


def required(name: str, type_: TypeEngine[Any] | type[TypeEngine[Any]], *args: Any, **column: Any) -> Column[Any]:
    """A ``not null`` column; other arguments as for ``Column``."""
    return Column(name, type_, *args, nullable=False, **column)


def optional(name: str, type_: TypeEngine[Any] | type[TypeEngine[Any]], *args: Any, **column: Any) -> Column[Any]:
    """A column that may be null; other arguments as for ``Column``."""
    return Column(name, type_, *args, nullable=True, **column)


def timestamp_now(name: str) -> Column[Any]:
    """When the row was written: not null, the database's ``now()`` unless the insert gives one."""
    return required(name, Timestamp, server_default=func.now())


runtime_metadata = MetaData()

inbox = Table(
    "inbox", runtime_metadata,
    key("consumer", Text),
    key("event_id", Text),
    timestamp_now("applied_at"),
    Index("inbox_consumer_applied_at_idx", "consumer", "applied_at"),
)

outbox = Table(
    "outbox", runtime_metadata,
    key("id", BigInteger, Identity(always=True)),
    required("topic", Text),
    optional("key", Text),
    required("event_id", Text, unique=True),
    required("event_type", Text),
    required("schema_version", Integer),
    required("headers", JSONB),
    required("payload", LargeBinary),
    timestamp_now("created_at"),
)
