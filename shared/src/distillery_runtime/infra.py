"""Telling a broken dependency from a broken message.

A message is dead-lettered only when the message is at fault. When the database or the
broker is down, every message would fail the same way; those errors rewind the batch
and wait instead.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from distillery_runtime.errors import TransientError

try:  # asyncpg's connection errors, when it is installed
    from asyncpg import exceptions as _pg
    _PG_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
        _pg.PostgresConnectionError,
        _pg.CannotConnectNowError,
        _pg.TooManyConnectionsError,
        _pg.InterfaceError,
    )
except ImportError:  # pragma: no cover
    _PG_CONNECTION_ERRORS = ()

try:
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NotLeaderForPartitionError
    _KAFKA_ERRORS: tuple[type[BaseException], ...] = (
        KafkaConnectionError, KafkaTimeoutError, NotLeaderForPartitionError,
    )
except ImportError:  # pragma: no cover
    _KAFKA_ERRORS = ()


_INFRASTRUCTURE_ERRORS = (
    TransientError, OperationalError, InterfaceError, ConnectionError, asyncio.TimeoutError,
    *_PG_CONNECTION_ERRORS, *_KAFKA_ERRORS,
)


def is_infrastructure_error(exc: BaseException) -> bool:
    if isinstance(exc, _INFRASTRUCTURE_ERRORS):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and isinstance(cause, (OSError, *_PG_CONNECTION_ERRORS))
