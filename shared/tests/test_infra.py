"""Telling a broken dependency from a broken message: a database that is full, read-only after a
failover, shutting down or timing statements out fails every message alike, so the consumer must
rewind and wait, not dead-letter healthy messages after five tries."""

from __future__ import annotations

import errno

import asyncpg
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection, AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError

from distillery_runtime.errors import PermanentError
from distillery_runtime.infra import is_infrastructure_error

pg = asyncpg.exceptions


def as_raised_through_sqlalchemy(error: Exception) -> BaseException:
    """``error`` as a handler sees it: translated by SQLAlchemy's asyncpg dialect, then wrapped."""
    dbapi = AsyncAdapt_asyncpg_dbapi(asyncpg)
    try:
        try:
            AsyncAdapt_asyncpg_connection._handle_exception_no_connection(dbapi, error)
        except dbapi.Error as adapted:
            raise DBAPIError.instance("insert into outbox ...", {}, adapted, dbapi.Error) from adapted
    except DBAPIError as wrapped:
        return wrapped
    raise AssertionError("not translated")


@pytest.mark.parametrize("error", [
    pg.DiskFullError("could not extend file: No space left on device"),  # 53100
    pg.OutOfMemoryError("out of memory"),  # 53200
    pg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),  # 25006: after failover
    pg.AdminShutdownError("terminating connection due to administrator command"),  # 57P01
    pg.CrashShutdownError("terminating connection because of crash of another server process"),  # 57P02
    pg.CannotConnectNowError("the database system is starting up"),  # 57P03
    pg.QueryCanceledError("canceling statement due to statement timeout"),  # 57014
    pg.PostgresIOError("could not read block"),  # 58030
], ids=lambda e: type(e).__name__)
def test_a_database_that_cannot_work_now_is_infrastructure(error):
    assert is_infrastructure_error(as_raised_through_sqlalchemy(error))
    assert is_infrastructure_error(error)


@pytest.mark.parametrize("error", [
    pg.UniqueViolationError("duplicate key value"),
    pg.UntranslatableCharacterError("unsupported Unicode escape sequence"),  # the message's text
    pg.CheckViolationError("new row violates check constraint"),
    pg.InvalidTextRepresentationError("invalid input syntax for type integer"),
], ids=lambda e: type(e).__name__)
def test_a_statement_the_message_made_fail_is_the_messages_fault(error):
    assert not is_infrastructure_error(as_raised_through_sqlalchemy(error))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS])
def test_a_full_or_read_only_disk_is_infrastructure(code):
    assert is_infrastructure_error(OSError(code, "No space left on device"))
    try:
        raise RuntimeError("writing the dataset failed") from OSError(code, "No space left on device")
    except RuntimeError as wrapped:
        assert is_infrastructure_error(wrapped)


def test_a_missing_file_or_a_bad_value_is_not_infrastructure():
    assert not is_infrastructure_error(FileNotFoundError(errno.ENOENT, "no such file"))
    assert not is_infrastructure_error(ValueError("weights must sum to 100"))


def test_an_error_the_handler_calls_permanent_is_never_infrastructure():
    try:
        raise PermanentError("the example cannot be stored") from OSError(errno.ENOSPC, "full")
    except PermanentError as exc:
        assert not is_infrastructure_error(exc)
