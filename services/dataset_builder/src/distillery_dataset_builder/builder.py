"""The build loop: one build at a time, started by a trigger, finished or discarded after a crash.

Each tick takes a PostgreSQL advisory lock (held by the connection for the whole build,
released by the server if the process dies), so with several instances one builds and
the others wait. Holding it, the builder first looks for a build an earlier process left
in status ``building``:

- its files are published and match its manifest → only the last step was lost: publish;
- otherwise its output is discarded and it runs again from its stored parameters, up to
  ``max_build_attempts`` times, after which it is recorded as failed.

Publishing is one transaction: the row turns ``published`` and DatasetBuilt enters the
outbox. Before it, the files are already in place (fsynced and renamed, or uploaded).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import text

from distillery_contracts.envelope import Envelope
from distillery_contracts.registry import DATASETS_BUILT
from distillery_dataset_builder.adapters.example_store import SqlExampleStore
from distillery_dataset_builder.adapters.registry import BuildRecord, BuildRequest, SqlDatasetRegistry
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.manifest import FILE_NAMES, MANIFEST, dataset_built
from distillery_dataset_builder.domain.parameters import BuildParameters
from distillery_dataset_builder.domain.triggers import TriggerView, decide
from distillery_dataset_builder.produce import BuildFailed, Producer
from distillery_runtime.faults import crash_point
from distillery_runtime.logs import get_logger
from distillery_runtime.service import ServiceContext
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.waiting import sleep_unless_stopped

log = get_logger(__name__)

BUILD_LOCK = "dataset-builder:build"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class DatasetBuilder:
    """Decides when to build, runs builds and publishes them; see the module docstring."""

    def __init__(self, producer: Producer, new_uow: Callable[[], UnitOfWork], config: DatasetBuilderSettings,
                 clock: Clock = utc_now) -> None:
        self._producer = producer
        self._engine = producer.engine
        self._new_uow = new_uow
        self._config = config
        self._clock = clock

    async def tick(self) -> str | None:
        """Recover or start at most one build; returns the id of a dataset it published."""
        async with self._build_lock() as held:
            if not held:
                return None
            leftover = await self._building()
            if leftover is not None:
                return await self._recover(leftover)
            record = await self._start_next()
            return await self._run(record) if record is not None else None

    @asynccontextmanager
    async def _build_lock(self) -> AsyncIterator[bool]:
        async with self._engine.connect() as conn:
            held = bool((await conn.execute(text("select pg_try_advisory_lock(hashtext(:n))"),
                                            {"n": BUILD_LOCK})).scalar())
            await conn.commit()
            try:
                yield held
            finally:
                if held:
                    await conn.execute(text("select pg_advisory_unlock(hashtext(:n))"), {"n": BUILD_LOCK})
                    await conn.commit()

    async def _building(self) -> BuildRecord | None:
        async with self._engine.connect() as conn:
            return await SqlDatasetRegistry(conn).building()

    async def _recover(self, record: BuildRecord) -> str | None:
        if record.files is not None and await asyncio.to_thread(self._published_intact, record):
            log.info("finishing a build whose files were already published", dataset_id=record.dataset_id)
            await self._publish(record)
            return record.dataset_id
        await asyncio.to_thread(self._producer.blobs.discard, record.dataset_id)
        if record.attempts >= self._config.max_build_attempts:
            await self._fail(record, f"gave up after {record.attempts} interrupted attempts")
            return None
        log.warning("discarding an interrupted build and running it again", dataset_id=record.dataset_id,
                    attempt=record.attempts + 1)
        async with self._producer.sessions() as session:
            await SqlDatasetRegistry(session).retry(record.dataset_id)
            await session.commit()
        return await self._run(record)

    def _published_intact(self, record: BuildRecord) -> bool:
        expected = {FILE_NAMES[name]: (f["sha256"], f["size_bytes"]) for name, f in (record.files or {}).items()}
        return self._producer.blobs.is_complete(record.dataset_id, expected)

    async def _start_next(self) -> BuildRecord | None:
        now = self._clock()
        async with self._producer.sessions() as session:
            registry, store = SqlDatasetRegistry(session), SqlExampleStore(session)
            schedule = self._config.schedule
            anchor = await registry.schedule_anchor(schedule, now) if schedule else None
            request = await registry.next_request()
            new = await store.count_new(await registry.last_high_water())
            decision = decide(TriggerView(request is not None, new, self._config.build_threshold, schedule, anchor),
                              now)
            if decision.schedule_fired:
                await registry.set_schedule_anchor(schedule, now)
            record = None
            if decision.trigger is not None:
                version = await registry.next_version()
                record = self.record_for(version, decision.trigger.value, request, await store.high_water_mark())
                await registry.begin(record)
                log.info("dataset build started", dataset_id=record.dataset_id, trigger=record.trigger,
                         new_examples=new)
            await session.commit()
            return record

    def record_for(self, version: int, trigger: str, request: BuildRequest | None, high_water: int) -> BuildRecord:
        """The build a trigger starts: the configuration, with a command's overrides, frozen into it."""
        config = self._config
        params = BuildParameters(
            target_size=(request and request.target_size) or config.target_size,
            base_model=(request and request.base_model) or config.base_model,
            epochs=config.epochs, pool_factor=config.pool_factor,
            max_examples_per_session=config.max_examples_per_session, stratify_by=config.stratify_by,
            stratify_mode=config.stratify_mode, validation_fraction=config.validation_fraction,
            cleaner_version=config.cleaner_version, near_duplicate_threshold=config.near_duplicate_threshold,
            golden_set=str(config.golden_set.resolve()) if config.golden_set else None,
            max_example_tokens=config.max_example_tokens,
        )
        return BuildRecord(
            dataset_id=f"ds-{version:04d}", version=version,
            cycle_id=(request and request.cycle_id) or f"cycle-{version:04d}", trigger=trigger,
            base_model=params.base_model, epochs=params.epochs, parameters=params.model_dump(mode="json"),
            high_water_seq=high_water, command_id=request.command_id if request else None,
            cause=request.cause if request else None,
        )

    async def _run(self, record: BuildRecord) -> str | None:
        try:
            staged = await self._producer.produce(record)
        except BuildFailed as exc:
            await asyncio.to_thread(self._producer.blobs.discard, record.dataset_id)
            await self._fail(record, str(exc))
            return None
        await asyncio.to_thread(self._producer.blobs.publish, record.dataset_id, staged)
        crash_point("dataset_files_published")
        staged_record = await self._building()
        assert staged_record is not None, "the build row vanished while the build lock was held"
        await self._publish(staged_record)
        return record.dataset_id

    async def _publish(self, record: BuildRecord) -> None:
        assert record.manifest is not None and record.files is not None
        now = self._clock()
        files = record.files
        event = dataset_built(record.manifest, {name: f["uri"] for name, f in files.items()},
                              (files[MANIFEST]["sha256"], files[MANIFEST]["size_bytes"]), now)
        cause = Envelope.model_validate(record.cause) if record.cause else None
        async with self._new_uow() as uow:
            await SqlDatasetRegistry(uow.session).publish(record.dataset_id, now)
            uow.emit(DATASETS_BUILT, event, cause=cause, correlation_id=record.cycle_id)
            await uow.commit()
        log.info("dataset published", dataset_id=record.dataset_id, version=record.version, cycle_id=record.cycle_id,
                 train=event.counts.train_examples, validation=event.counts.validation_examples)

    async def _fail(self, record: BuildRecord, reason: str) -> None:
        async with self._producer.sessions() as session:
            await SqlDatasetRegistry(session).fail(record, reason)
            await session.commit()
        log.error("dataset build failed; nothing was published", dataset_id=record.dataset_id, reason=reason)


def builder_job(make_builder: Callable[[ServiceContext], DatasetBuilder], interval_s: float):
    """The background task: check the triggers every ``interval_s`` until the service stops."""

    async def build_datasets(ctx: ServiceContext) -> None:
        builder = make_builder(ctx)
        while not ctx.stopping.is_set():
            try:
                published = await builder.tick()
            except Exception as exc:  # an outage or a bug: the build row stays and is retried
                log.exception("dataset build tick failed; will retry", error=repr(exc))
                published = None
            if published is None:
                await sleep_unless_stopped(ctx.stopping, interval_s)

    return build_datasets
