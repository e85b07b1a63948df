"""The dataset-builder's use cases: keep examples, take them back, queue and run builds.

Handlers call the first three inside the consumer's unit of work; the build loop (a
``Worker`` holding the ``dataset-builder:build`` advisory lock, so one instance builds
while the others stand by) calls :meth:`DatasetBuilder.step`. Each step first looks for a
build an earlier attempt left in status ``building``:

- its files are published and match its manifest → only the last step was lost: publish;
- otherwise its output is discarded and it runs again from its stored parameters, up to
  ``max_build_attempts`` times, after which it is recorded as failed.

The attempt number fences the builds (``registry.hold``): taking a build up again counts a
new attempt *before* the old attempt's files are removed, every save, publication or removal
of an attempt first checks in its transaction that it is still the current one, and each
attempt stages in a directory of its own. A builder that lost the lock while it still runs
can therefore neither publish over, nor delete, nor write into the next attempt's files.

Publishing is one transaction: the row turns ``published`` and DatasetBuilt enters the
outbox. Before it, the files are already in place (fsynced and renamed, or uploaded).
Stores come from the factories the composition root injects, one per unit of work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from distillery_contracts.commands import BuildDataset
from distillery_contracts.envelope import Envelope
from distillery_contracts.examples import ExampleAccepted, ExampleRejected
from distillery_contracts.privacy import EraseCaller
from distillery_contracts.registry import DATASETS_BUILT
from distillery_dataset_builder.adapters.example_retention import AbstractExampleRetention
from distillery_dataset_builder.adapters.example_store import AbstractExampleStore
from distillery_dataset_builder.adapters.registry import AbstractDatasetRegistry, BuildRecord, BuildRequest
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.manifest import FILE_NAMES, MANIFEST, dataset_built
from distillery_dataset_builder.domain.parameters import BuildParameters
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.domain.triggers import TriggerView, decide
from distillery_dataset_builder.pipeline import (
    BuildFailed,
    BuildPipeline,
    ExampleStoreFactory,
    RegistryFactory,
    staging_name,
)
from distillery_runtime import erasure
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.faults import crash_point
from distillery_runtime.logs import get_logger
from distillery_runtime.tokens import Tokenizer
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)

BUILD_LOCK = "dataset-builder:build"
"""The advisory lock the build loop holds for its life: one instance builds at a time."""

Clock = Callable[[], datetime]
UnitsOfWork = Callable[[], UnitOfWork]

__all__ = ["BUILD_LOCK", "BuildFailed", "BuildPipeline", "DatasetBuilder", "ExampleStoreFactory",
           "RegistryFactory", "erase_callers", "forget_old_examples", "record_examples", "record_rejections",
           "request_builds"]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def record_examples(store: AbstractExampleStore, accepted: Sequence[ExampleAccepted],
                          tokenizer: Tokenizer) -> int:
    """Keep accepted examples with lineage, training line, token count and sketch; returns how many were new."""
    records = await asyncio.to_thread(records_of, accepted, tokenizer)  # CPU work; keep the loop free
    return await store.add(records)


async def record_rejections(store: AbstractExampleStore, rejected: Sequence[ExampleRejected]) -> list[str]:
    """Withdraw stored examples that the rejections take back; returns their ids."""
    retracted = await store.retract(rejected)
    if retracted:
        log.info("examples retracted", count=len(retracted))
    return retracted


async def erase_callers(uow: UnitOfWork, store: AbstractErasureStore, commands: Sequence[EraseCaller]) -> None:
    """Remove each caller's examples, from the store and from any build in progress."""
    await erasure.erase_callers(uow, store, "dataset-builder", commands)


async def forget_old_examples(store: AbstractExampleRetention, retention: timedelta, limit: int,
                              now: datetime) -> int:
    """Delete up to ``limit`` examples stored longer ago than ``retention`` (none a build in
    progress holds); returns how many."""
    return await store.forget_examples(now - retention, limit)


async def request_builds(registry: AbstractDatasetRegistry,
                         commands: Sequence[tuple[BuildDataset, Envelope]]) -> None:
    """Queue BuildDataset commands for the build loop (which runs outside the consumer)."""
    await registry.add_requests(commands)
    for command, _ in commands:
        log.info("dataset build requested", command_id=command.command_id, requested_by=command.requested_by,
                 target_size=command.target_size, base_model=command.base_model)


class DatasetBuilder:
    """Decides when to build, runs builds and publishes them; see the module docstring."""

    def __init__(self, config: DatasetBuilderSettings, pipeline: BuildPipeline, clock: Clock = utc_now) -> None:
        self._config = config
        self._pipeline = pipeline
        self._registry = pipeline.registry
        self._examples = pipeline.examples
        self._blobs = pipeline.blobs
        self._clock = clock

    async def step(self, new_uow: UnitsOfWork) -> bool:
        """One round of the build loop; True when it published (another build may be due at once)."""
        return await self.tick(new_uow) is not None

    async def tick(self, new_uow: UnitsOfWork) -> str | None:
        """Recover or start at most one build; returns the id of a dataset it published."""
        async with new_uow() as uow:
            leftover = await self._registry(uow).building()
        if leftover is not None:
            return await self._recover(new_uow, leftover)
        record = await self._start_next(new_uow)
        return await self._run(new_uow, record) if record is not None else None

    async def _recover(self, new_uow: UnitsOfWork, record: BuildRecord) -> str | None:
        if record.files is not None and await asyncio.to_thread(self._published_intact, record):
            log.info("finishing a build whose files were already published", dataset_id=record.dataset_id)
            await self._publish(new_uow, record)
            return record.dataset_id
        async with new_uow() as uow:  # a new attempt first: the old one, if it still runs, is fenced off
            await self._registry(uow).retry(record.dataset_id)
            await uow.commit()
        retried = replace(record, attempts=record.attempts + 1, manifest=None, files=None)
        await asyncio.to_thread(self._discard, record)
        if record.attempts >= self._config.max_build_attempts:
            await self._fail(new_uow, retried, f"gave up after {record.attempts} interrupted attempts")
            return None
        log.warning("discarding an interrupted build and running it again", dataset_id=record.dataset_id,
                    attempt=retried.attempts)
        return await self._run(new_uow, retried)

    def _discard(self, record: BuildRecord) -> None:
        """Remove what ``record``'s attempt left: its staging directory and anything published."""
        names = list(FILE_NAMES.values())
        self._blobs.discard(staging_name(record), names)
        self._blobs.discard(record.dataset_id, names)

    def _published_intact(self, record: BuildRecord) -> bool:
        expected = {FILE_NAMES[name]: (f["sha256"], f["size_bytes"]) for name, f in (record.files or {}).items()}
        return self._blobs.is_complete(record.dataset_id, expected)

    async def _start_next(self, new_uow: UnitsOfWork) -> BuildRecord | None:
        now = self._clock()
        async with new_uow() as uow:
            registry, store = self._registry(uow), self._examples(uow)
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
            await uow.commit()
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

    async def _run(self, new_uow: UnitsOfWork, record: BuildRecord) -> str | None:
        try:
            staged = await self._pipeline.write(new_uow, record)
        except BuildFailed as exc:
            await self._fail(new_uow, record, str(exc), discard=True)
            return None
        async with new_uow() as uow:  # renamed into place while this attempt still holds the build
            await self._registry(uow).hold(record.dataset_id, record.attempts)
            await asyncio.to_thread(self._blobs.publish, record.dataset_id, staged)
            await uow.commit()
        crash_point("dataset_files_published")
        async with new_uow() as uow:
            staged_record = await self._registry(uow).building()
        assert staged_record is not None, "the build row vanished while the build lock was held"
        await self._publish(new_uow, staged_record)
        return record.dataset_id

    async def _publish(self, new_uow: UnitsOfWork, record: BuildRecord) -> None:
        assert record.manifest is not None and record.files is not None
        now = self._clock()
        files = record.files
        event = dataset_built(record.manifest, {name: f["uri"] for name, f in files.items()},
                              (files[MANIFEST]["sha256"], files[MANIFEST]["size_bytes"]), now)
        cause = Envelope.model_validate(record.cause) if record.cause else None
        async with new_uow() as uow:
            await self._registry(uow).hold(record.dataset_id, record.attempts)
            await self._registry(uow).publish(record.dataset_id, now)
            uow.emit(DATASETS_BUILT, event, cause=cause, correlation_id=record.cycle_id)
            await uow.commit()
        log.info("dataset published", dataset_id=record.dataset_id, version=record.version, cycle_id=record.cycle_id,
                 train=event.counts.train_examples, validation=event.counts.validation_examples)

    async def _fail(self, new_uow: UnitsOfWork, record: BuildRecord, reason: str, *, discard: bool = False) -> None:
        async with new_uow() as uow:
            await self._registry(uow).hold(record.dataset_id, record.attempts)
            if discard:
                await asyncio.to_thread(self._discard, record)
            await self._registry(uow).fail(record, reason)
            await uow.commit()
        log.error("dataset build failed; nothing was published", dataset_id=record.dataset_id, reason=reason)
