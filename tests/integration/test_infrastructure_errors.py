"""The errors a real PostgreSQL raises when it cannot work now, as the runtime sees them through
SQLAlchemy: each must rewind the batch (infrastructure), not dead-letter the message."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from distillery_runtime.db import create_engine
from distillery_runtime.infra import is_infrastructure_error

pytestmark = pytest.mark.integration


async def raised(database_url: str, *statements: str) -> BaseException:
    engine = create_engine(database_url, "public", pool_size=1)
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    except Exception as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError("nothing failed")


async def test_a_statement_timeout_is_infrastructure(database_url):
    assert is_infrastructure_error(await raised(database_url, "set statement_timeout = 50", "select pg_sleep(2)"))


async def test_a_read_only_database_is_infrastructure(database_url):
    exc = await raised(database_url, "set transaction read only", "create table t (id int)")
    assert is_infrastructure_error(exc)


async def test_an_administrator_ending_the_connection_is_infrastructure(database_url):
    assert is_infrastructure_error(await raised(database_url, "select pg_terminate_backend(pg_backend_pid())"))


async def test_text_the_database_cannot_hold_is_the_messages_fault(database_url):
    exc = await raised(database_url, "create temporary table t (doc jsonb)",
                       "insert into t values ('{\"a\": \"\\u0000\"}')")
    assert not is_infrastructure_error(exc)
