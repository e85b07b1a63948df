"""Telling a broken dependency from a broken message.

A message is dead-lettered only when the message is at fault. When the database or the
broker is down, every message would fail the same way; those errors rewind the batch
and wait instead.

"Down" is wider than unreachable: a database whose disk is full, that is read-only after a
failover, that an operator is shutting down, or that cancels statements on a timeout
fails every message alike. Its SQLSTATE says so, whether the error comes from asyncpg
itself or wrapped by SQLAlchemy (which keeps it on the wrapped error's ``sqlstate``); so
does a local disk that is full or read-only (a dataset file, a state file).
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from distillery_runtime.errors import PermanentError, TransientError

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

_SQLSTATE_CLASSES = ("08", "53", "57")
"""Connection exception; insufficient resources (53100 disk full, 53200 out of memory, 53300
too many connections); operator intervention (57014 statement timeout or cancel, 57P01 admin
shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 57P05 idle session timeout)."""
_SQLSTATES = frozenset({
    "25006",  # read_only_sql_transaction: a replica promoted, or the primary demoted, after failover
    "58000",  # system_error
    "58030",  # io_error
})
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def is_infrastructure_error(exc: BaseException) -> bool:
    """True when ``exc`` says a dependency cannot work now, whatever the message; an error the
    handler raised as ``PermanentError`` is the message's, whatever caused it."""
    if isinstance(exc, PermanentError):
        return False
    for link in _wrapped(exc):
        if isinstance(link, _INFRASTRUCTURE_ERRORS) or _infrastructure_sqlstate(link):
            return True
        if isinstance(link, OSError) and link.errno in _DISK_ERRNOS:
            return True
        if isinstance(link, DBAPIError) and link.connection_invalidated:
            return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and isinstance(cause, (OSError, *_PG_CONNECTION_ERRORS))


def _wrapped(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it explicitly wraps (``raise ... from``, a DBAPI error's ``orig``),
    not what it was merely raised while handling."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen and len(seen) < 8:
        seen.add(id(link))
        yield link
        orig = link.orig if isinstance(link, DBAPIError) else None
        link = orig if isinstance(orig, BaseException) else link.__cause__


def _infrastructure_sqlstate(exc: BaseException) -> bool:
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and (state in _SQLSTATES or state[:2] in _SQLSTATE_CLASSES)
