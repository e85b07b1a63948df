"""The console's tables that can hold a caller's words, in PostgreSQL: each keeps a row
for its retention and not a second longer, an erasure removes the caller's rows, and the
Data page reads what the fake reads; a republish writes the message to the outbox."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from db_helpers import service_session
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "console" / "tests"))

from recorded_streams import ACCEPTED_TRACE, CLEANER, T0, feed, recorded_cycle  # noqa: E402

from distillery_console.adapters.data_store import SqlDataStore  # noqa: E402
from distillery_console.adapters.erasure_store import SqlErasureStore  # noqa: E402
from distillery_console.adapters.fakes import FakeConsoleStore, FakeDataStore  # noqa: E402
from distillery_console.adapters.store import SqlConsoleStore  # noqa: E402
from distillery_console.data_views import read_examples, read_letters  # noqa: E402
from distillery_console.services import forget_old_rows, republish_dead_letter  # noqa: E402
from distillery_runtime.erasure import Caller  # noqa: E402

pytestmark = pytest.mark.integration
SECOND = timedelta(seconds=1)


async def data_pages(store) -> tuple:  # noqa: ANN001
    return (await read_examples(store, None, "accepted", None, 1, 5, "https://lf"),
            await read_examples(store, CLEANER, "rejected", "hallucination", 2, 2, None),
            await read_letters(store, None, None, 1, 5))


async def test_the_sql_data_store_reads_the_pages_the_fake_reads_and_erases_a_caller(database_url):
    fake = FakeDataStore()
    await feed(FakeConsoleStore(), recorded_cycle(), fake)
    async with service_session(database_url, "console") as session:
        sql = SqlDataStore(session)
        await feed(SqlConsoleStore(session), recorded_cycle(), sql)
        assert await data_pages(sql) == await data_pages(fake)

        report = await SqlErasureStore(session).erase(Caller("call-a0", None))
        assert {s.store: s.removed for s in report} == {
            "console.eval_items": 1, "console.examples": 1, "console.dead_letters": 0}
        left = await session.scalar(text("select count(*) from eval_items where trace_id = :t"), {"t": ACCEPTED_TRACE})
        report = await SqlErasureStore(session).erase(Caller(None, "tr-dl"))
        assert left == 0 and {s.store: s.removed for s in report}["console.dead_letters"] == 1


async def test_a_republish_writes_the_message_to_the_outbox_and_the_operator_to_the_letter(database_url):
    async with service_session(database_url, "console") as session:
        sql = SqlDataStore(session)
        await feed(SqlConsoleStore(session), recorded_cycle(), sql)
        [letter] = await sql.letters(None, None, 0, 10)
        topic = await republish_dead_letter(sql, letter.letter_id, "ana@clinic", "parser fixed", True, lambda: T0)
        row = (await session.execute(text("select topic, key, payload, headers from outbox"))).one()
        assert (row.topic, row.key, bytes(row.payload).decode()) == (topic, "call-dl", letter.original_value)
        assert row.headers["event-id"] == letter.original_headers["event-id"]
        assert (await sql.letter(letter.letter_id)).republished_by == "ana@clinic"


@pytest.mark.parametrize("table", ["eval_items", "examples", "dead_letters"])
async def test_each_table_keeps_a_row_for_its_retention_and_no_longer(database_url, table):
    keep = {"eval_items": timedelta(days=90), "examples": timedelta(days=30), "dead_letters": timedelta(days=7)}
    age = {"eval_items": "scored_at", "examples": "at", "dead_letters": "failed_at"}[table]
    async with service_session(database_url, "console") as session:
        sql = SqlDataStore(session)
        await feed(SqlConsoleStore(session), recorded_cycle(), sql)
        await session.execute(text(f"update {table} set {age} = :t"), {"t": T0})  # noqa: S608 - a fixed name
        rows = await session.scalar(text(f"select count(*) from {table}"))  # noqa: S608
        others = {t: await session.scalar(text(f"select count(*) from {t}")) for t in keep if t != table}  # noqa: S608
        only = {table: keep[table]}

        assert await forget_old_rows(sql, T0 + keep[table], only, limit=1000) == 0
        assert await session.scalar(text(f"select count(*) from {table}")) == rows  # noqa: S608
        assert await forget_old_rows(sql, T0 + keep[table] + SECOND, only, limit=1000) == rows
        assert await session.scalar(text(f"select count(*) from {table}")) == 0  # noqa: S608
        assert others == {t: await session.scalar(text(f"select count(*) from {t}")) for t in others}  # noqa: S608
