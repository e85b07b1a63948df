"""The runtime's own tables, created in every service's schema by its first migration.

inbox:  which events each consumer has applied (a redelivery is then a no-op).
outbox: events written in the same transaction as the state change, published by the relay.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

runtime_metadata = MetaData()

inbox = Table(
    "inbox",
    runtime_metadata,
    Column("consumer", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "event_id", name="inbox_pkey"),
)

outbox = Table(
    "outbox",
    runtime_metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("topic", Text, nullable=False),
    Column("key", Text, nullable=True),
    Column("event_id", Text, nullable=False, unique=True),
    Column("event_type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
