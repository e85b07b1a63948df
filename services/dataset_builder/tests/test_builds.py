"""The build use case on fake stores: trigger, write, publish once; refuse and give up with a reason.

The real PostgreSQL stores, the build lock and crashes at each step are covered by
``tests/integration/test_dataset_build.py``; here the decisions are checked in memory.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from distillery_contracts.registry import DATASETS_BUILT
from distillery_runtime.blobstore import LocalBlobStore
from distillery_runtime.fencing import LostLease
from distillery_dataset_builder.adapters.fakes import FakeDatasetRegistry
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.samples import synthetic_calls
from distillery_dataset_builder.services import BuildPipeline, DatasetBuilder
from distillery_runtime.pricing import PriceTable
from distillery_runtime.tokens import tokenizer_for
from distillery_runtime.uow import FakeUnitOfWork

TOKENIZER = tokenizer_for("gpt-4o-mini-2024-07-18")
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def builder(registry: FakeDatasetRegistry, root: Path, **config: object) -> DatasetBuilder:
    settings = DatasetBuilderSettings(**{"build_threshold": 1, "schedule": "off", "target_size": 1_000, **config})
    pipeline = BuildPipeline(lambda uow: registry.examples, lambda uow: registry, LocalBlobStore(root), PriceTable())
    return DatasetBuilder(settings, pipeline, clock=lambda: T0)


async def test_new_examples_over_the_threshold_become_one_published_dataset_announced_once(tmp_path: Path):
    registry = FakeDatasetRegistry()
    await registry.examples.add(records_of(list(synthetic_calls(30, turns=4)), TOKENIZER))
    uow = FakeUnitOfWork()

    assert await builder(registry, tmp_path).tick(lambda: uow) == "ds-0001"
    assert await builder(registry, tmp_path).tick(lambda: uow) is None, "nothing new since"

    [message] = uow.committed
    assert message.topic == DATASETS_BUILT and message.envelope.correlation_id == "cycle-0001"
    manifest = json.loads((tmp_path / "ds-0001" / "manifest.json").read_text())
    assert manifest["files"]["train"]["examples"] + manifest["files"]["validation"]["examples"] == 120
    assert registry.datasets["ds-0001"].status == "published"


async def test_a_build_the_provider_would_refuse_is_recorded_as_failed_and_nothing_is_announced(tmp_path: Path):
    registry = FakeDatasetRegistry()
    await registry.examples.add(records_of(list(synthetic_calls(2, turns=3)), TOKENIZER))
    uow = FakeUnitOfWork()

    assert await builder(registry, tmp_path).tick(lambda: uow) is None

    [failure] = registry.failed
    assert "the provider needs at least 10" in failure.failed.reason
    assert uow.committed == [] and registry.datasets == {}
    assert not (tmp_path / "ds-0001").exists()


async def test_a_build_that_keeps_being_interrupted_is_given_up_after_its_attempts(tmp_path: Path):
    registry = FakeDatasetRegistry()
    await registry.examples.add(records_of(list(synthetic_calls(20, turns=5)), TOKENIZER))
    crashing = builder(registry, tmp_path, max_build_attempts=2)
    await registry.begin(crashing.record_for(1, "threshold", None, 100))
    await registry.retry("ds-0001")
    (tmp_path / "ds-0001").mkdir(parents=True)

    assert await crashing.tick(FakeUnitOfWork) is None

    assert [f.failed.reason for f in registry.failed] == ["gave up after 2 interrupted attempts"]
    assert not (tmp_path / "ds-0001").exists()


async def test_a_builder_that_lost_its_build_neither_publishes_nor_touches_the_next_attempts_files(tmp_path: Path):
    """Builder A stalls after staging (its lock connection died); B takes the build up again and
    publishes it. A, resuming, must find itself fenced off: no second DatasetBuilt, no files
    replaced, and B never wrote into A's staging directory nor A into B's."""
    registry = FakeDatasetRegistry()
    await registry.examples.add(records_of(list(synthetic_calls(30, turns=4)), TOKENIZER))
    staged, resume = asyncio.Event(), asyncio.Event()

    class Stalling(BuildPipeline):
        async def write(self, new_uow, record):  # type: ignore[no-untyped-def]
            path = await super().write(new_uow, record)
            staged.set()
            await resume.wait()
            return path

    settings = DatasetBuilderSettings(build_threshold=1, schedule="off", target_size=1_000)
    stalled = DatasetBuilder(settings, Stalling(lambda uow: registry.examples, lambda uow: registry,
                                                LocalBlobStore(tmp_path), PriceTable()), clock=lambda: T0)
    a_uow, b_uow = FakeUnitOfWork(), FakeUnitOfWork()
    a = asyncio.create_task(stalled.tick(lambda: a_uow))
    await asyncio.wait_for(staged.wait(), 30)
    assert (tmp_path / ".staging" / "ds-0001.attempt-1" / "manifest.json").is_file()

    assert await builder(registry, tmp_path).tick(lambda: b_uow) == "ds-0001"
    published = {p.name: p.read_bytes() for p in (tmp_path / "ds-0001").iterdir()}
    resume.set()

    with pytest.raises(LostLease):
        await asyncio.wait_for(a, 30)
    assert a_uow.committed == [] and [m.topic for m in b_uow.committed] == [DATASETS_BUILT]
    assert {p.name: p.read_bytes() for p in (tmp_path / "ds-0001").iterdir()} == published
    assert registry.datasets["ds-0001"].status == "published" and registry.datasets["ds-0001"].record.attempts == 2
