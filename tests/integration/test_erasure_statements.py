"""The one-statement erasure stores (the runtime's StatementErasureStore) on PostgreSQL: the
rows they reach are the ones the fakes reach, by session or by trace, and a NULL id matches nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from db_helpers import service_session
from sqlalchemy import text

from distillery_cleaner.adapters.erasure_store import SqlErasureStore as CleanerErasure
from distillery_runtime.erasure import Caller
from distillery_trace_ingester.adapters.erasure_store import SqlErasureStore as IngesterErasure
from distillery_trace_ingester.adapters.fakes import FakeErasureStore, FakeIngesterState
from distillery_trace_ingester.domain.records import Claim, Outcome

pytestmark = pytest.mark.integration

T0 = datetime(2026, 9, 1, tzinfo=UTC)
ROWS = [("obs-0", "tr-0", "call-jane"), ("obs-1", "tr-1", "call-jane"), ("obs-2", "tr-2", None),
        ("obs-3", "tr-3", "call-other")]


@pytest.mark.parametrize("caller", [Caller("call-jane", None), Caller(None, "tr-2"), Caller(None, "tr-9")])
async def test_the_ingester_forgets_the_same_sessions_in_sql_as_its_fake(database_url, caller):
    state = FakeIngesterState({("clinic", o): Claim(o, t, s, T0, Outcome.PUBLISHED) for o, t, s in ROWS})
    expected = await FakeErasureStore(state).erase(caller)
    async with service_session(database_url, "trace-ingester") as session:
        await session.execute(text(
            "insert into published (project_id, observation_id, trace_id, session_id, outcome) "
            "values ('clinic', :o, :t, :s, 'published')"), [{"o": o, "t": t, "s": s} for o, t, s in ROWS])
        report = await IngesterErasure(session).erase(caller)
        left = dict((await session.execute(text("select observation_id, session_id from published"))).all())
    assert report == expected
    assert left == {o: c.session_id for (_, o), c in state.published.items()}


async def test_the_cleaners_one_statement_counts_each_table_it_erases_from(database_url):
    async with service_session(database_url, "cleaner") as session:
        for n, (o, t, s) in enumerate(ROWS):
            rank = (await session.execute(text(
                "insert into examples (scope_id, content_hash, example_id, project_id, observation_id, trace_id, "
                "session_id, session_key, captured_at) values (1, :h, :h, 'clinic', :o, :t, :s, :o, now()) "
                "returning rank"), {"h": f"h{n}", "o": o, "t": t, "s": s})).scalar_one()
            await session.execute(text("insert into example_bands values (1, :b, :r), (1, :b + 100, :r)"),
                                  {"b": n, "r": rank})
            await session.execute(text("insert into late_scores (project_id, observation_id, scores) "
                                       "values ('clinic', :o, '{}')"), {"o": o})
        report = await CleanerErasure(session).erase(Caller("call-jane", None))
        left = (await session.execute(text("select observation_id from examples order by 1"))).scalars().all()
    assert [(s.store, s.removed) for s in report] == [
        ("cleaner.examples", 2), ("cleaner.example_bands", 4), ("cleaner.late_scores", 2)]
    assert left == ["obs-2", "obs-3"]
