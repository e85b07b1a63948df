"""Erasing a caller from the cleaner: their dedup-index rows, band keys and late scores go, other
callers' stay, and the report says how many of each."""

from __future__ import annotations

from cleaner_samples import late, score, trace

from distillery_cleaner.adapters.fakes import FakeErasureStore
from distillery_cleaner.handlers import erasure_handler, trace_handler
from distillery_contracts.privacy import CallerErased, EraseCaller
from distillery_runtime.consumer import delivery_of
from distillery_runtime.erasure import erasure_report
from distillery_runtime.uow import FakeUnitOfWork



async def cleaned(cleaner, repo) -> None:
    handler = trace_handler(cleaner, lambda uow: repo)
    jane = trace(1, session="call-jane", messages=[{"role": "user", "content": "I need to move my appointment"}])
    other = trace(2, session="call-other", messages=[{"role": "user", "content": "What time do you open?"}])
    await handler(FakeUnitOfWork(), [delivery_of(jane, offset=0), delivery_of(other, offset=1)])
    await handler(FakeUnitOfWork(), [delivery_of(late(jane, score(0.0, name="politeness", comment="Jane was upset")), offset=2)])


async def erase(repo, command: EraseCaller) -> CallerErased:
    return await erasure_report(erasure_handler(lambda uow: FakeErasureStore(repo)), command)


def sessions(repo) -> set[str | None]:
    return {row.lineage.session_id for index in repo.rows.values() for row in index.values()}


async def test_erasing_a_session_removes_its_index_rows_bands_and_late_scores(cleaner, repo):
    await cleaned(cleaner, repo)
    assert sessions(repo) == {"call-jane", "call-other"} and len(repo.scores) == 1

    report = await erase(repo, EraseCaller(session_id="call-jane", requested_by="dpo"))

    assert sessions(repo) == {"call-other"}
    assert repo.scores == {}
    assert all(row.lineage.session_id != "call-jane"
               for bands in repo.bands.values() for rows in bands.values() for row in rows)
    removed = {s.store: s.removed for s in report.stores}
    assert removed["cleaner.examples"] == 1 and removed["cleaner.late_scores"] == 1
    assert removed["cleaner.example_bands"] > 0


async def test_a_caller_without_rows_is_reported_with_nothing_removed(cleaner, repo):
    await cleaned(cleaner, repo)
    report = await erase(repo, EraseCaller(trace_id="tr-nobody", requested_by="dpo"))
    assert sessions(repo) == {"call-jane", "call-other"}
    assert [s.removed for s in report.stores] == [0, 0, 0]
