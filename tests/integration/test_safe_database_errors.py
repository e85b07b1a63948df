"""A failing statement's parameters (callers' words) stay out of the error, its logs and letters."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from distillery_runtime.db import create_engine
from distillery_runtime.safe_errors import safe_summary

pytestmark = pytest.mark.integration

CALLER = "Jane Doe 4111 1111 1111 1111"


async def test_a_failing_statement_does_not_quote_its_parameters(database_url):
    engine = create_engine(database_url, "public", pool_size=1)
    try:
        with pytest.raises(DBAPIError) as failed:
            async with engine.connect() as conn:
                await conn.execute(text("select 1 / (cast(:n as integer) - 1), cast(:said as text)"), {"n": 1, "said": CALLER})
    finally:
        await engine.dispose()
    assert "Jane" not in str(failed.value) and "4111" not in str(failed.value)
    summary = safe_summary(failed.value)
    assert "SQLSTATE 22012" in summary and "Jane" not in summary
