"""Dataset builds against a real PostgreSQL: reproducible, honest splits, nothing half-published."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from db_helpers import connected
from sqlalchemy import text

from distillery_contracts.commands import BuildDataset
from distillery_contracts.envelope import Envelope
from distillery_contracts.examples import ExampleAccepted
from distillery_contracts.samples import sample_example_rejected
from distillery_runtime.blobstore import LocalBlobStore
from distillery_dataset_builder.adapters.catalog import SqlDatasetCatalog
from distillery_dataset_builder.adapters.example_store import SqlExampleStore
from distillery_dataset_builder.adapters.registry import SqlDatasetRegistry
from distillery_dataset_builder.app import MIGRATIONS, SCHEMA, build, dataset_registry, example_store
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.domain.sketch import conversation_text, sketch_texts
from distillery_dataset_builder.samples import synthetic_calls
from distillery_dataset_builder.services import BUILD_LOCK, BuildPipeline, DatasetBuilder
from distillery_runtime.db import create_engine, session_factory
from distillery_runtime.migrations import migrate
from distillery_runtime.pricing import PriceTable
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.tokens import tokenizer_for
from distillery_runtime.uow import UnitOfWork

pytestmark = pytest.mark.integration

TOKENIZER = tokenizer_for("gpt-4o-mini-2024-07-18")


@dataclass
class Lab:
    """A migrated database, a datasets directory and ways to fill and build."""

    url: str
    root: Path
    engine: object
    sessions: object
    now: datetime = datetime(2026, 10, 1, tzinfo=UTC)

    def new_uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, "dataset-builder/0.1.0")

    def builder(self, **config: object) -> DatasetBuilder:
        settings = DatasetBuilderSettings(**{"build_threshold": 1, "schedule": "off", "target_size": 1_000,
                                             **config})
        pipeline = BuildPipeline(example_store, dataset_registry, LocalBlobStore(self.root), PriceTable())
        return DatasetBuilder(settings, pipeline, clock=lambda: self.now)

    async def store(self, events: list[ExampleAccepted]) -> None:
        async with self.sessions() as session:
            await SqlExampleStore(session).add(records_of(events, TOKENIZER))
            await session.commit()

    async def request(self, **fields: object) -> None:
        command = BuildDataset(requested_by="test", **fields)
        envelope = Envelope.new(event_type="BuildDataset", schema_version=1, producer="test/1",
                                event_id=command.command_id)
        async with self.sessions() as session:
            await SqlDatasetRegistry(session).add_requests([(command, envelope)])
            await session.commit()

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        async with connected(self.url) as conn:
            await conn.execute(f"set search_path = {SCHEMA}")
            return await conn.fetch(sql, *args)

    def lines(self, dataset_id: str, split: str) -> list[dict]:
        return [json.loads(line) for line in (self.root / dataset_id / f"{split}.jsonl").read_text().splitlines()]


@pytest.fixture
async def lab(database_url: str, tmp_path: Path) -> AsyncIterator[Lab]:
    engine = create_engine(database_url, SCHEMA)
    await migrate(engine, SCHEMA, MIGRATIONS)
    yield Lab(database_url, tmp_path / "datasets", engine, session_factory(engine))
    await engine.dispose()


def copy_into_new_call(example: ExampleAccepted, session: str) -> ExampleAccepted:
    """The same conversation with one word changed, as another caller's call."""
    messages = [m.model_copy() for m in example.messages]
    messages[1] = messages[1].model_copy(update={"content": messages[1].content + " please"})
    lineage = example.lineage.model_copy(update={"session_id": session, "observation_id": f"obs-{session}",
                                                  "trace_id": f"tr-{session}"})
    return example.model_copy(update={"example_id": f"ex-copy-{session}", "messages": messages,
                                      "lineage": lineage})


async def test_two_builds_over_the_same_examples_write_byte_identical_files(lab: Lab):
    await lab.store(list(synthetic_calls(40, turns=5)))
    builder = lab.builder()
    assert await builder.tick(lab.new_uow) == "ds-0001"
    assert await builder.tick(lab.new_uow) is None, "nothing new: no second build without a command"
    await lab.request()
    assert await builder.tick(lab.new_uow) == "ds-0002"

    for name in ("train.jsonl", "validation.jsonl"):
        assert (lab.root / "ds-0001" / name).read_bytes() == (lab.root / "ds-0002" / name).read_bytes()
    first, second = (json.loads((lab.root / d / "manifest.json").read_text()) for d in ("ds-0001", "ds-0002"))
    identity = ("dataset_id", "version", "cycle_id", "trigger")
    assert {k: v for k, v in first.items() if k not in identity} == \
        {k: v for k, v in second.items() if k not in identity}
    assert (first["trigger"], second["trigger"]) == ("threshold", "command")


async def test_no_session_is_in_both_splits_and_train_copies_no_evaluation_example(lab: Lab, tmp_path: Path):
    calls = list(synthetic_calls(40, turns=5))
    await lab.store(calls)
    assert await lab.builder().tick(lab.new_uow) == "ds-0001"
    first_validation = {row["example_id"] for row in await lab.fetch(
        "select example_id from dataset_examples where dataset_id = 'ds-0001' and split = 'validation'")}
    leaked = [copy_into_new_call(e, f"leak-{n}") for n, e in enumerate(calls) if e.example_id in first_validation]
    later = list(synthetic_calls(40, turns=5, seed=11, session_prefix="later", start=calls[-1].lineage.captured_at))
    golden_source = later[7]
    golden = tmp_path / "golden.jsonl"
    golden.write_text(json.dumps({"id": "g-1", "messages": [
        {"role": "system", "content": "A different prompt."},
        *[m.model_dump(exclude_none=True) for m in golden_source.messages[1:]]]}) + "\n")
    await lab.store(leaked + later)

    assert await lab.builder(golden_set=golden).tick(lab.new_uow) == "ds-0002"

    sides = await lab.fetch("select d.split, e.session_key from dataset_examples d join examples e "
                            "using (example_id) where d.dataset_id = 'ds-0002'")
    train_sessions = {r["session_key"] for r in sides if r["split"] == "train"}
    assert train_sessions.isdisjoint({r["session_key"] for r in sides if r["split"] == "validation"})
    evaluation = [json.loads(golden.read_text())] + lab.lines("ds-0001", "validation") + \
        lab.lines("ds-0002", "validation")
    eval_sigs = sketch_texts([conversation_text(e["messages"]) for e in evaluation])
    train_sigs = sketch_texts([conversation_text(e["messages"]) for e in lab.lines("ds-0002", "train")])
    similarity = (train_sigs[:, None, :] == eval_sigs[None, :, :]).mean(axis=2)
    assert similarity.max() < 0.8, "a train example copies an evaluation example"
    excluded = json.loads((lab.root / "ds-0002" / "manifest.json").read_text())["counts"][
        "excluded_eval_near_duplicates"]
    assert excluded["golden_set"] >= 1 and excluded["previous_validation"] == len(leaked) > 0


async def test_a_retracted_example_stays_out_of_later_builds_and_is_flagged_on_earlier_ones(lab: Lab):
    calls = list(synthetic_calls(30, turns=4))
    await lab.store(calls)
    taken_back = calls[5]
    rejection = sample_example_rejected(
        rejection_id="rj-late", cleaner_version=taken_back.cleaner_version, config_hash=taken_back.config_hash,
        reason="hallucination", lineage=taken_back.lineage.model_dump())
    assert await lab.builder().tick(lab.new_uow) == "ds-0001"
    async with lab.sessions() as session:
        assert await SqlExampleStore(session).retract([rejection]) == [taken_back.example_id]
        await session.commit()
    await lab.request()
    assert await lab.builder().tick(lab.new_uow) == "ds-0002"

    members = {r["example_id"] for r in await lab.fetch(
        "select example_id from dataset_examples where dataset_id = 'ds-0002'")}
    assert taken_back.example_id not in members and len(members) == len(calls) - 1
    async with lab.engine.connect() as conn:
        assert await SqlDatasetCatalog(conn).retracted_since("ds-0001") == 1


async def test_a_build_the_provider_would_refuse_fails_with_its_reason_and_publishes_nothing(lab: Lab):
    await lab.store(list(synthetic_calls(2, turns=3)))
    await lab.request(target_size=100)
    assert await lab.builder().tick(lab.new_uow) is None

    [failure] = await lab.fetch("select dataset_id, trigger, reason from build_failures")
    assert failure["trigger"] == "command"
    assert "split has" in failure["reason"] and "the provider needs at least 10" in failure["reason"]
    assert await lab.fetch("select * from datasets") == []
    assert await lab.fetch("select * from outbox") == []
    assert not (lab.root / failure["dataset_id"]).exists()


async def test_only_the_instance_holding_the_build_lock_builds(lab: Lab):
    await lab.store(list(synthetic_calls(20, turns=3)))
    settings = RuntimeSettings(database_url=lab.url, home=lab.root.parent)
    config = DatasetBuilderSettings(build_threshold=1, schedule="off", target_size=1_000, check_interval_s=0.05,
                                    datasets_dir=lab.root)
    [build_loop] = [w for w in build(settings, config).background if w.name == "build_datasets"]
    ctx = ServiceContext(name="dataset-builder", settings=settings, engine=lab.engine, sessions=lab.sessions,
                         new_uow=lab.new_uow, broker=None, stopping=asyncio.Event())
    other = await asyncpg.connect(lab.url)
    try:
        assert await other.fetchval("select pg_try_advisory_lock(hashtext($1))", BUILD_LOCK)
        loop = asyncio.create_task(build_loop(ctx))
        await asyncio.sleep(0.5)
        assert await lab.fetch("select * from datasets") == [], "built without the lock"
        await other.execute("select pg_advisory_unlock(hashtext($1))", BUILD_LOCK)
        for _ in range(300):
            if await lab.fetch("select 1 from datasets where status = 'published'"):
                break
            await asyncio.sleep(0.1)
        assert [r["dataset_id"] for r in await lab.fetch("select dataset_id from datasets")] == ["ds-0001"]
        ctx.stopping.set()
        await asyncio.wait_for(loop, 10)
    finally:
        ctx.stopping.set()
        await other.close()


async def test_the_schedule_builds_when_it_comes_due_and_only_with_new_examples(lab: Lab):
    await lab.store(list(synthetic_calls(20, turns=3)))
    builder = lab.builder(build_threshold=1_000, schedule="0 0 1 */3 *")
    assert await builder.tick(lab.new_uow) is None, "first sight of the schedule only starts counting"
    lab.now = datetime(2026, 10, 2, tzinfo=UTC) + timedelta(days=91)
    assert await builder.tick(lab.new_uow) == "ds-0001"
    lab.now += timedelta(days=92)
    assert await builder.tick(lab.new_uow) is None, "nothing new since the last build"
    [row] = await lab.fetch("select trigger, cycle_id from datasets")
    assert (row["trigger"], row["cycle_id"]) == ("schedule", "cycle-0001")


class Killed(BaseException):
    """Stands in for the process dying at a crash point."""


async def test_a_build_killed_after_publishing_its_files_is_finished_without_writing_them_again(
        lab: Lab, monkeypatch: pytest.MonkeyPatch):
    await lab.store(list(synthetic_calls(20, turns=5)))

    def die_after_files(point: str) -> None:
        if point == "dataset_files_published":
            raise Killed(point)

    monkeypatch.setattr("distillery_dataset_builder.services.crash_point", die_after_files)
    with pytest.raises(Killed):
        await lab.builder().tick(lab.new_uow)
    written = {p.name: (p.stat().st_ino, p.read_bytes()) for p in (lab.root / "ds-0001").iterdir()}
    assert len(written) == 3
    assert [(r["status"], r["published_at"]) for r in await lab.fetch("select * from datasets")] == \
        [("building", None)]
    assert await lab.fetch("select * from outbox") == [], "announced before the crash"

    assert await lab.builder().tick(lab.new_uow) == "ds-0001"
    assert {p.name: (p.stat().st_ino, p.read_bytes()) for p in (lab.root / "ds-0001").iterdir()} == written
    [row] = await lab.fetch("select status, attempts from datasets")
    assert (row["status"], row["attempts"]) == ("published", 1)
    [event] = await lab.fetch("select event_type, headers from outbox")
    assert event["event_type"] == "DatasetBuilt" and json.loads(event["headers"])["event-id"] == "ds-0001:v1"


async def test_a_build_that_keeps_crashing_is_given_up_after_its_attempts(lab: Lab):
    await lab.store(list(synthetic_calls(20, turns=5)))
    async with lab.sessions() as session:
        registry = SqlDatasetRegistry(session)
        record = lab.builder().record_for(1, "threshold", None, 100)
        await registry.begin(record)
        await session.execute(text("update datasets set attempts = 3"))
        await session.commit()
    (lab.root / "ds-0001").mkdir(parents=True)
    (lab.root / "ds-0001" / "train.jsonl").write_text("half a line")

    assert await lab.builder(max_build_attempts=3).tick(lab.new_uow) is None
    [failure] = await lab.fetch("select dataset_id, reason from build_failures")
    assert failure["reason"] == "gave up after 3 interrupted attempts"
    assert not (lab.root / "ds-0001").exists()
    assert await lab.builder().tick(lab.new_uow) is None, "a failed build's examples do not count as new again"
