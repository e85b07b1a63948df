"""One contract for the ingester's store: what the use cases rely on, whichever store it is.

``IngesterStoreContract`` runs here against ``FakeIngesterStore`` and, in
tests/integration/test_ingester_store_contract.py, against ``SqlIngesterStore`` on
PostgreSQL, so the fake the unit tests use behaves like the real store.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from distillery_trace_ingester.adapters.fakes import FakeIngesterStore
from distillery_trace_ingester.domain.records import Backfill, Claim, Counts, ImportRun, Outcome
from distillery_trace_ingester.samples import T0


def claim(n: int, outcome: Outcome = Outcome.PUBLISHED, minutes: int = 0) -> Claim:
    return Claim(f"obs-{n}", f"trace-{n}", f"call-{n}", T0 + timedelta(minutes=minutes), outcome)


def backfill(n: int, minutes: int) -> Backfill:
    return Backfill(f"bf-{n}", "a", T0, T0 + timedelta(hours=1), T0, "ops", T0 + timedelta(minutes=minutes))


class IngesterStoreContract:
    """The tests; a subclass provides the ``store`` fixture (an empty store)."""

    async def test_a_generation_is_claimed_once_per_project(self, store):
        assert await store.claim("a", [claim(1), claim(2)]) == {"obs-1", "obs-2"}
        assert await store.claim("a", [claim(2), claim(3)]) == {"obs-3"}
        assert await store.claim("b", [claim(1)]) == {"obs-1"}
        assert await store.published_ids("a", ["obs-1", "obs-3", "obs-9"]) == {"obs-1", "obs-3"}

    async def test_a_claim_repeated_within_one_batch_counts_once(self, store):
        assert await store.claim("a", [claim(1), claim(1)]) == {"obs-1"}
        assert await store.claim("a", []) == set()

    async def test_late_scores_only_target_published_generations(self, store):
        await store.claim("a", [claim(1), claim(2, Outcome.DEAD_LETTERED)])
        targets = await store.targets("a", ["obs-1", "obs-2", "obs-3"])
        assert list(targets) == ["obs-1"] and targets["obs-1"].session_id == "call-1"
        assert targets["obs-1"].trace_id == "trace-1"

    async def test_a_generation_marked_dead_lettered_after_its_claim_gets_no_late_scores(self, store):
        await store.claim("a", [claim(1), claim(2)])
        await store.mark_dead_lettered("a", ["obs-2", "obs-9"])
        assert list(await store.targets("a", ["obs-1", "obs-2"])) == ["obs-1"]
        assert await store.published_ids("a", ["obs-2"]) == {"obs-2"}

    async def test_each_score_is_claimed_once(self, store):
        assert await store.claim_scores("a", [("obs-1", "s1"), ("obs-1", "s2")]) == {("obs-1", "s1"), ("obs-1", "s2")}
        assert await store.claim_scores("a", [("obs-1", "s2"), ("obs-1", "s3")]) == {("obs-1", "s3")}
        assert await store.sent_scores("a", ["obs-1", "obs-2"]) == {"obs-1": {"s1", "s2", "s3"}}
        assert await store.sent_scores("b", ["obs-1"]) == {}

    async def test_the_watermark_never_moves_back(self, store):
        assert await store.watermark("a") is None
        await store.advance_watermark("a", T0 + timedelta(hours=1))
        await store.advance_watermark("a", T0)
        assert await store.watermark("a") == T0 + timedelta(hours=1)

    async def test_progress_lists_every_projects_watermark_by_project(self, store):
        await store.advance_watermark("b", T0)
        await store.advance_watermark("a", T0 + timedelta(hours=1))
        assert [(p.project_id, p.watermark) for p in await store.progress()] == [
            ("a", T0 + timedelta(hours=1)), ("b", T0)]

    async def test_backfills_are_worked_oldest_first_and_a_repeated_request_is_ignored(self, store):
        await store.add_backfills([backfill(2, 5), backfill(1, 1)])
        await store.add_backfills([backfill(1, 1)])
        first = await store.next_backfill("a")
        assert first.backfill_id == "bf-1"
        first.position, first.done, first.counts = T0 + timedelta(hours=1), True, Counts(published=7)
        await store.save_backfill(first)
        second = await store.next_backfill("a")
        assert second.backfill_id == "bf-2" and await store.next_backfill("b") is None
        [newest, oldest] = await store.recent_backfills()
        assert newest.backfill_id == "bf-2"
        assert (oldest.backfill_id, oldest.done, oldest.counts.published) == ("bf-1", True, 7)

    async def test_an_import_run_is_saved_as_it_goes_and_listed_newest_first(self, store):
        older = ImportRun("run-1", "a", "old.jsonl", None, T0)
        run = ImportRun("run-2", "a", "new.jsonl", "scores.jsonl", T0 + timedelta(hours=1))
        await store.save_import(older)
        await store.save_import(run)
        run.counts.add(Counts(published=3, already_published=2))
        run.bad_lines, run.finished_at = 1, T0 + timedelta(hours=2)
        await store.save_import(run)
        [newest, oldest] = await store.recent_imports()
        assert (newest.run_id, newest.scores_file, newest.bad_lines) == ("run-2", "scores.jsonl", 1)
        assert (newest.counts.published, newest.counts.already_published) == (3, 2)
        assert newest.finished_at == T0 + timedelta(hours=2)
        assert (oldest.run_id, oldest.finished_at) == ("run-1", None)

    async def test_forgetting_drops_old_generations_and_their_scores(self, store):
        await store.claim("a", [claim(1, minutes=0), claim(2, minutes=30)])
        await store.claim("b", [claim(1, minutes=0)])
        await store.claim_scores("a", [("obs-1", "s1"), ("obs-2", "s2")])
        assert await store.forget("a", T0 + timedelta(minutes=10)) == 1
        assert await store.published_ids("a", ["obs-1", "obs-2"]) == {"obs-2"}
        assert await store.sent_scores("a", ["obs-1", "obs-2"]) == {"obs-2": {"s2"}}
        assert await store.published_ids("b", ["obs-1"]) == {"obs-1"}


class TestFakeIngesterStore(IngesterStoreContract):
    @pytest.fixture
    def store(self):
        return FakeIngesterStore()
