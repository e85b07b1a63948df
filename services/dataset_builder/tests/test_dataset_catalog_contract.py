"""One contract for the dataset catalog: here against the fake, in tests/integration against PostgreSQL.

The catalog only reads; each test writes through the example store and the registry
(fake or SQL, matching) and reads back what ``distillery dataset list/show/diff`` show.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from distillery_contracts.samples import sample_example_rejected
from distillery_dataset_builder.adapters.catalog import AbstractDatasetCatalog
from distillery_dataset_builder.adapters.example_store import AbstractExampleStore
from distillery_dataset_builder.adapters.fakes import FakeDatasetCatalog, FakeDatasetRegistry
from distillery_dataset_builder.adapters.registry import AbstractDatasetRegistry, BuildRecord
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.samples import synthetic_calls
from distillery_runtime.tokens import tokenizer_for

TOKENIZER = tokenizer_for("gpt-4o-mini-2024-07-18")
T0 = datetime(2026, 10, 1, tzinfo=UTC)
MANIFEST = {"files": {"train": {"examples": 2}, "validation": {"examples": 1}}}
FILES = {"train": {"uri": "file:///ds/train.jsonl", "sha256": "ab" * 32, "size_bytes": 10}}

Stores = tuple[AbstractExampleStore, AbstractDatasetRegistry, AbstractDatasetCatalog]


def record(version: int) -> BuildRecord:
    return BuildRecord(dataset_id=f"ds-{version:04d}", version=version, cycle_id=f"cycle-{version:04d}",
                       trigger="threshold", base_model="gpt-4o-mini-2024-07-18", epochs=3,
                       parameters={"target_size": 100}, high_water_seq=10)


async def published(registry: AbstractDatasetRegistry, version: int, train: list[str], validation: list[str]) -> None:
    await registry.begin(record(version))
    await registry.stage(f"ds-{version:04d}", {"train": train, "validation": validation}, MANIFEST, FILES)
    await registry.publish(f"ds-{version:04d}", T0)


class DatasetCatalogContract:
    """What every catalog reads; a subclass provides ``stores`` (examples, registry, catalog)."""

    async def test_datasets_are_listed_newest_first_with_the_build_in_progress_and_the_failures(
            self, stores: Stores):
        _, registry, catalog = stores
        await published(registry, 1, ["ex-1", "ex-2"], ["ex-3"])
        await registry.begin(record(2))
        await registry.fail(record(2), "train split has 3 valid examples")
        await registry.begin(record(2))

        listed = await catalog.list_datasets()
        assert [(d.dataset_id, d.status) for d in listed] == [("ds-0002", "building"), ("ds-0001", "published")]
        first = await catalog.get("ds-0001")
        assert first is not None and (first.manifest, first.files, first.published_at) == (MANIFEST, FILES, T0)
        assert (first.count("train"), first.cycle_id, first.trigger) == (2, "cycle-0001", "threshold")
        assert await catalog.get("ds-0404") is None
        [failure] = await catalog.failures()
        assert (failure.dataset_id, failure.version, failure.reason) == \
            ("ds-0002", 2, "train split has 3 valid examples")

    async def test_members_taken_back_later_are_counted_against_the_dataset_they_are_in(self, stores: Stores):
        examples, registry, catalog = stores
        calls = list(synthetic_calls(3, turns=1))
        await examples.add(records_of(calls, TOKENIZER))
        await published(registry, 1, [calls[0].example_id, calls[1].example_id], [calls[2].example_id])
        await published(registry, 2, [calls[2].example_id], [calls[1].example_id])
        taken_back = calls[0]
        await examples.retract([sample_example_rejected(
            rejection_id="rj-late", cleaner_version=taken_back.cleaner_version, config_hash=taken_back.config_hash,
            reason="hallucination", lineage=taken_back.lineage.model_dump())])
        assert (await catalog.retracted_since("ds-0001"), await catalog.retracted_since("ds-0002")) == (1, 0)

    async def test_tags_count_each_example_once_and_its_intent_as_a_tag(self, stores: Stores):
        examples, registry, catalog = stores
        [plain, tagged] = list(synthetic_calls(2, turns=1))
        plain = plain.model_copy(update={"tags": ["intent:prices"], "intent": "prices"})
        tagged = tagged.model_copy(update={"tags": ["lang:en"], "intent": "booking"})
        await examples.add(records_of([plain, tagged], TOKENIZER))
        await published(registry, 1, [plain.example_id, tagged.example_id], [])
        assert await catalog.tag_counts("ds-0001") == {"intent:booking": 1, "intent:prices": 1, "lang:en": 1}

    async def test_overlap_counts_the_examples_added_removed_and_kept(self, stores: Stores):
        _, registry, catalog = stores
        await published(registry, 1, ["a", "b"], ["c"])
        await published(registry, 2, ["b", "c", "d"], ["e"])
        overlap = await catalog.overlap("ds-0001", "ds-0002")
        assert (overlap.added, overlap.removed, overlap.kept) == (2, 1, 2)


class TestFakeDatasetCatalog(DatasetCatalogContract):
    @pytest.fixture
    def stores(self) -> Stores:
        registry = FakeDatasetRegistry()
        return registry.examples, registry, FakeDatasetCatalog(registry)
