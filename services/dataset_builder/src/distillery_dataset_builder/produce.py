"""Producing a dataset's files: select, write both splits, check them, write the manifest.

Everything lands in the blob store's staging directory and in the build's row (members,
manifest, file digests); nothing is visible to anyone until the builder publishes it.
A build that cannot give a dataset the provider would accept raises :class:`BuildFailed`
with the reason a person needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from distillery_contracts.datasets import BuildTrigger
from distillery_dataset_builder.adapters.blobstore import AbstractBlobStore, sha256_of
from distillery_dataset_builder.adapters.example_store import SqlExampleStore
from distillery_dataset_builder.adapters.registry import BuildRecord, SqlDatasetRegistry
from distillery_dataset_builder.domain.golden import GoldenSet, GoldenSetError, read_golden_set
from distillery_dataset_builder.domain.limits import UnknownLimitsError
from distillery_dataset_builder.domain.manifest import (
    FILE_NAMES,
    MANIFEST,
    TRAIN,
    VALIDATION,
    DatasetIdentity,
    Lineage,
    WrittenSplit,
    build_manifest,
    manifest_bytes,
)
from distillery_dataset_builder.domain.parameters import BuildParameters
from distillery_dataset_builder.domain.plan import EvaluationSet, SelectionPlan, plan_selection
from distillery_dataset_builder.domain.selection import Candidate
from distillery_dataset_builder.domain.sketch import signatures_from_bytes, sketch_texts
from distillery_dataset_builder.domain.validation import ModelLimits, size_text
from distillery_dataset_builder.writer import write_split
from distillery_runtime.faults import crash_point
from distillery_runtime.logs import get_logger
from distillery_runtime.pricing import PriceTable, UnknownPriceError
from distillery_runtime.tokens import UnknownModelError, tokenizer_for

log = get_logger(__name__)


class BuildFailed(Exception):
    """The build cannot produce a dataset the provider would accept; the message says why."""


@dataclass(frozen=True)
class Producer:
    """What producing a dataset needs: the database, the blob store and the price table."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    blobs: AbstractBlobStore
    prices: PriceTable

    async def produce(self, record: BuildRecord) -> Path:
        """Write the build's files to staging and save its manifest; returns the staging dir."""
        params = BuildParameters.model_validate(record.parameters)
        limits = _limits_of(params)
        async with self.engine.connect() as conn:
            store, registry = SqlExampleStore(conn), SqlDatasetRegistry(conn)
            version = await store.newest_version(params.cleaner_version, record.high_water_seq)
            if version is None:
                which = f"of cleaner version {params.cleaner_version} " if params.cleaner_version else ""
                raise BuildFailed(f"no stored examples {which}to build from")
            candidates, signatures = await store.candidates(version, record.high_water_seq, params.pool_size,
                                                            params.stratify_by, tokenizer_for(limits.model).encoding)
            held_out, previous = await registry.previous_validation()
        golden = await asyncio.to_thread(_read_golden, params.golden_set)
        evaluation = EvaluationSet(
            golden=sketch_texts(golden.texts if golden else []),
            previous_validation=signatures_from_bytes(previous), held_out_sessions=frozenset(held_out))
        plan = await asyncio.to_thread(plan_selection, candidates, signatures, evaluation, params.rules(limits))
        del signatures
        log.info("dataset selected", dataset_id=record.dataset_id, candidates=plan.candidates,
                 train=len(plan.train), validation=len(plan.validation), excluded=plan.excluded_total)

        staging = await asyncio.to_thread(self.blobs.staging_dir, record.dataset_id)
        async with self.engine.connect() as conn:
            store = SqlExampleStore(conn)
            train = await write_split(store, TRAIN, plan.train, staging, limits)
            validation = await write_split(store, VALIDATION, plan.validation, staging, limits)
        _check_files(train, validation, limits)
        manifest = self._manifest(record, params, plan, train, validation, candidates, version, golden)
        manifest_file = staging / FILE_NAMES[MANIFEST]
        await asyncio.to_thread(manifest_file.write_bytes, manifest_bytes(manifest))
        files = {
            TRAIN: self._file(record, TRAIN, train.sha256, train.size_bytes),
            VALIDATION: self._file(record, VALIDATION, validation.sha256, validation.size_bytes),
            MANIFEST: self._file(record, MANIFEST, sha256_of(manifest_file), manifest_file.stat().st_size),
        }
        async with self.sessions() as session:
            await SqlDatasetRegistry(session).stage(
                record.dataset_id, {TRAIN: train.example_ids, VALIDATION: validation.example_ids}, manifest, files)
            await session.commit()
        crash_point("dataset_staged")
        return staging

    def _manifest(self, record: BuildRecord, params: BuildParameters, plan: SelectionPlan, train: WrittenSplit,
                  validation: WrittenSplit, candidates: Sequence[Candidate], version: tuple[str, str],
                  golden: GoldenSet | None) -> dict[str, Any]:
        try:
            cost = self.prices.training_cost(params.base_model, sum(train.tokens), params.epochs)
        except UnknownPriceError as exc:
            raise BuildFailed(str(exc)) from None
        kept = set(train.example_ids) | set(validation.example_ids)
        times = [c.captured_at for c in candidates if c.example_id in kept]
        identity = DatasetIdentity(record.dataset_id, record.version, record.cycle_id,
                                   BuildTrigger(record.trigger), params.base_model, params.epochs)
        golden_info = None if golden is None else {
            "path": params.golden_set, "sha256": golden.sha256, "examples": len(golden.texts)}
        lineage = Lineage([version[0]], [version[1]], min(times), max(times), golden_info)
        return build_manifest(identity, plan, train, validation, params.selection(*version), lineage, cost)

    def _file(self, record: BuildRecord, name: str, sha256: str, size: int) -> dict[str, Any]:
        return {"uri": self.blobs.uri(record.dataset_id, FILE_NAMES[name]), "sha256": sha256, "size_bytes": size}


def _limits_of(params: BuildParameters) -> ModelLimits:
    try:
        limits = params.limits()
        tokenizer_for(params.base_model)
    except (UnknownLimitsError, UnknownModelError) as exc:
        raise BuildFailed(f"cannot build for base model {params.base_model!r}: {exc}") from None
    return limits


def _read_golden(path: str | None) -> GoldenSet | None:
    if path is None:
        return None
    try:
        with Path(path).open("rb") as handle:
            return read_golden_set(handle)
    except FileNotFoundError:
        raise BuildFailed(f"golden set {path} does not exist (DISTILLERY_DATASET_GOLDEN_SET)") from None
    except GoldenSetError as exc:
        raise BuildFailed(f"{path}: {exc}") from None


def _check_files(train: WrittenSplit, validation: WrittenSplit, limits: ModelLimits) -> None:
    for split in (train, validation):
        count = len(split.example_ids)
        if count < limits.min_examples:
            dropped = f" ({split.invalid_examples} invalid dropped)" if split.invalid_examples else ""
            raise BuildFailed(f"{split.name} split has {count} valid examples{dropped}; "
                              f"the provider needs at least {limits.min_examples}")
        if split.size_bytes > limits.max_file_bytes:
            raise BuildFailed(f"{FILE_NAMES[split.name]} is {size_text(split.size_bytes)}; "
                              f"the provider accepts at most {size_text(limits.max_file_bytes)}")
