"""One contract for reading Langfuse: what capture relies on, whichever reader it is.

``LangfuseReaderContract`` runs here against ``FakeLangfuseReader`` and, in
tests/integration/test_ingester_langfuse_reader_contract.py, against ``HttpLangfuseReader``
talking to the sandbox's Langfuse API, so the fake the unit tests use answers like Langfuse.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from distillery_trace_ingester.adapters.fakes import FakeLangfuseReader
from distillery_trace_ingester.adapters.langfuse_client import LangfuseConfigError
from distillery_trace_ingester.samples import T0, sample_generation, sample_score


class LangfuseReaderContract:
    """The tests; a subclass provides ``langfuse``, a factory
    ``(observations, scores, page_size) -> reader`` of one project holding those records,
    and ``refusing``, a reader whose keys Langfuse refuses."""

    async def test_generations_come_in_pages_newest_first_each_once_within_the_range(self, langfuse):
        reader = langfuse([sample_generation(n) for n in range(30)], [], 7)
        pages = [page async for page in reader.generations(T0 + timedelta(seconds=50), T0 + timedelta(seconds=200))]
        ids = [o["id"] for page in pages for o in page]
        assert ids == [f"obs-{n:05d}" for n in range(19, 4, -1)]
        assert max(len(page) for page in pages) <= 7

    async def test_an_empty_range_yields_no_generation(self, langfuse):
        reader = langfuse([sample_generation(1)], [], 10)
        assert [o async for page in reader.generations(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
                for o in page] == []

    async def test_scores_are_those_timestamped_within_the_range(self, langfuse):
        scores = [sample_score("obs-00001", score_id=f"s-{m}", timestamp=T0 + timedelta(minutes=m))
                  for m in range(10)]
        reader = langfuse([sample_generation(1)], scores, 10)
        found = await reader.scores(T0 + timedelta(minutes=3), T0 + timedelta(minutes=6))
        assert sorted(s["id"] for s in found) == ["s-3", "s-4", "s-5"]
        assert {s["subject"]["id"] for s in found} == {"obs-00001"}

    async def test_refused_keys_are_a_configuration_error(self, refusing):
        with pytest.raises(LangfuseConfigError):
            await refusing.check_access()


class TestFakeLangfuseReader(LangfuseReaderContract):
    @pytest.fixture
    def langfuse(self):
        return lambda observations, scores, page_size: FakeLangfuseReader("clinic", observations, scores, page_size)

    @pytest.fixture
    def refusing(self):
        reader = FakeLangfuseReader("clinic")
        reader.config_error = "Langfuse refused the API keys of project 'clinic'"
        return reader
