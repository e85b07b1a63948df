"""One contract for the example store: here against the fake, in tests/integration against PostgreSQL.

``tests/integration/test_dataset_store_contracts.py`` runs :class:`ExampleStoreContract`
with ``SqlExampleStore`` on a migrated schema, so the fake the unit tests use stays honest.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from distillery_contracts.samples import sample_example_rejected
from distillery_dataset_builder.adapters.example_store import AbstractExampleStore
from distillery_dataset_builder.adapters.fakes import FakeExampleStore
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.samples import synthetic_calls
from distillery_runtime.tokens import tokenizer_for

TOKENIZER = tokenizer_for("gpt-4o-mini-2024-07-18")


def rejection(example, reason: str = "hallucination", version: str | None = None):
    return sample_example_rejected(
        rejection_id=f"rj-{example.lineage.observation_id}-{reason}-{version}", reason=reason,
        cleaner_version=version or example.cleaner_version, config_hash=example.config_hash,
        lineage=example.lineage.model_dump())


class ExampleStoreContract:
    """What every example store does; a subclass provides the ``store`` fixture."""

    async def test_adding_counts_only_new_examples_and_moves_the_high_water_mark(
            self, store: AbstractExampleStore):
        calls = list(synthetic_calls(3, turns=2))
        assert await store.add(records_of(calls[:4], TOKENIZER)) == 4
        first_mark = await store.high_water_mark()
        assert await store.add(records_of(calls, TOKENIZER)) == 2
        assert await store.high_water_mark() > first_mark
        assert await store.count_new(first_mark) == 2
        assert await store.count_new(0) == 6

    async def test_a_batch_keeps_each_examples_own_tags_and_stores_a_repeated_id_once(
            self, store: AbstractExampleStore):
        records = records_of(list(synthetic_calls(2, turns=2)), TOKENIZER)
        tags = [["lang:de", "z"], [], ['q:"x",{y}', "lang:fr,de"], ["lang:"]]
        records = [replace(r, tags=t, intent=None) for r, t in zip(records, tags, strict=True)]
        assert await store.add([*records, records[0]]) == 4, "the repeated record counts once"
        found, _ = await store.candidates(("0.1.0", "cfg-demo"), await store.high_water_mark(), 10, ["lang", "q"],
                                          "o200k_base")
        strata = {c.example_id: c.stratum for c in found}
        assert [strata[r.example_id] for r in records] == [
            "lang=de|q=(none)", "lang=(none)|q=(none)", 'lang=fr,de|q="x",{y}', "lang=(none)|q=(none)"]
        assert await store.count_new(0) == 4

    async def test_retraction_follows_the_same_rules_in_both_stores(self, store: AbstractExampleStore):
        calls = list(synthetic_calls(2, turns=2))
        await store.add(records_of(calls[:3], TOKENIZER))
        assert await store.retract([rejection(calls[0], reason="pii", version="0.9.0")]) == []
        assert await store.retract([rejection(calls[0], reason="pii")]) == [calls[0].example_id]
        assert await store.retract([rejection(calls[1], version="0.9.0")]) == [calls[1].example_id]
        assert await store.retract([rejection(calls[3])]) == [], "not stored yet"
        await store.add(records_of(calls[3:], TOKENIZER))
        assert await store.count_new(0) == 1, "only calls[2] is still usable"

    async def test_candidates_are_the_newest_usable_examples_of_one_cleaner_version(
            self, store: AbstractExampleStore):
        old = list(synthetic_calls(2, turns=3))
        new = list(synthetic_calls(2, turns=3, cleaner_version="0.2.0", session_prefix="v2"))
        await store.add(records_of(old + new, TOKENIZER))
        await store.retract([rejection(old[5])])
        mark = await store.high_water_mark()
        assert await store.newest_version(None, mark) == ("0.2.0", "cfg-demo")
        assert await store.newest_version("0.1.0", mark) == ("0.1.0", "cfg-demo")
        assert await store.newest_version(None, 6) == ("0.1.0", "cfg-demo")

        found, signatures = await store.candidates(("0.1.0", "cfg-demo"), mark, 4, ["intent"], "o200k_base")
        expected = sorted(old[:5], key=lambda e: (e.lineage.captured_at, e.example_id), reverse=True)[:4]
        assert [c.example_id for c in found] == [e.example_id for e in expected]
        assert signatures.shape == (4, 128)
        assert found[0].stratum == f"intent={expected[0].intent}" and found[0].session_key == "call-000001"
        lines = await store.lines([c.example_id for c in found])
        assert set(lines) == {c.example_id for c in found}
        assert all(len(lines[c.example_id].encode()) == c.body_bytes for c in found)
        assert all(c.tokens == TOKENIZER.count_example(json.loads(lines[c.example_id])) for c in found)
        other, _ = await store.candidates(("0.1.0", "cfg-demo"), mark, 1, ["intent"], "cl100k_base")
        assert other[0].tokens is None, "a count made with another tokenizer is not reused"

        # An example over the token limit is no candidate: the next newest takes its place.
        everything, _ = await store.candidates(("0.1.0", "cfg-demo"), mark, 10, ["intent"], "o200k_base")
        longest = max(found, key=lambda c: c.tokens or 0)
        assert longest.tokens is not None
        limit = longest.tokens - 1
        fitting, fitting_signatures = await store.candidates(("0.1.0", "cfg-demo"), mark, 4, ["intent"], "o200k_base",
                                                             max_tokens=limit)
        expected_ids = [c.example_id for c in everything if c.tokens is not None and c.tokens <= limit][:4]
        assert [c.example_id for c in fitting] == expected_ids and longest.example_id not in expected_ids
        assert fitting_signatures.shape == (len(expected_ids), 128)
        at_the_limit, _ = await store.candidates(("0.1.0", "cfg-demo"), mark, 4, ["intent"], "o200k_base",
                                                 max_tokens=longest.tokens)
        assert longest.example_id in {c.example_id for c in at_the_limit}, "a count equal to the limit fits"
        counted_otherwise, _ = await store.candidates(("0.1.0", "cfg-demo"), mark, 4, ["intent"], "cl100k_base",
                                                      max_tokens=1)
        assert len(counted_otherwise) == 4, "an example without a count in the build's encoding is checked later"


class TestFakeExampleStore(ExampleStoreContract):
    @pytest.fixture
    def store(self) -> AbstractExampleStore:
        return FakeExampleStore()
