"""The file-writing pipeline of a build: select, write both splits, check them, write the manifest.

Everything lands in the blob store's staging directory and in the build's row (members,
manifest, file digests); nothing is visible to anyone until ``services.DatasetBuilder``
publishes it. A build that cannot give a dataset the provider would accept raises
:class:`BuildFailed` with the reason a person needs.

Lines are written in example-id order (ids are content hashes, so the order mixes calls
and intents and never depends on storage). Each file is hashed while it is written and
fsynced when closed. Validation, the CPU-heavy part, runs in a worker thread one chunk at
a time, so the service's consumers and health checks keep running during a build; the
next chunk is fetched from the database meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillery_contracts.datasets import BuildTrigger
from distillery_runtime.blobstore import AbstractBlobStore, sha256_of
from distillery_dataset_builder.adapters.example_store import AbstractExampleStore
from distillery_dataset_builder.adapters.registry import AbstractDatasetRegistry, BuildRecord
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
from distillery_dataset_builder.domain.validation import ModelLimits, check_example, size_text
from distillery_runtime.faults import crash_point
from distillery_runtime.logs import get_logger
from distillery_runtime.pricing import PriceTable, UnknownPriceError
from distillery_runtime.tokens import UnknownModelError, tokenizer_for
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)

CHUNK = 1_000

ExampleStoreFactory = Callable[[UnitOfWork], AbstractExampleStore]
RegistryFactory = Callable[[UnitOfWork], AbstractDatasetRegistry]


class BuildFailed(Exception):
    """The build cannot produce a dataset the provider would accept; the message says why."""


class ExampleMissing(RuntimeError):
    """A chosen example has no stored line (the store changed under the build)."""


def staging_name(record: BuildRecord) -> str:
    """The staging directory of one attempt of a build: each attempt writes its own, so an attempt
    taken up again elsewhere never writes into (or publishes) the files of the next one."""
    return f"{record.dataset_id}.attempt-{record.attempts}"


@dataclass(frozen=True)
class BuildPipeline:
    """What writing a dataset's files needs: the stores (per unit of work), the blob store, prices."""

    examples: ExampleStoreFactory
    registry: RegistryFactory
    blobs: AbstractBlobStore
    prices: PriceTable

    async def write(self, new_uow: Callable[[], UnitOfWork], record: BuildRecord) -> Path:
        """Write the build's files to staging and save its manifest; returns the staging dir."""
        params = BuildParameters.model_validate(record.parameters)
        limits = _limits_of(params)
        async with new_uow() as uow:
            store, registry = self.examples(uow), self.registry(uow)
            version = await store.newest_version(params.cleaner_version, record.high_water_seq)
            if version is None:
                which = f"of cleaner version {params.cleaner_version} " if params.cleaner_version else ""
                raise BuildFailed(f"no stored examples {which}to build from")
            candidates, signatures = await store.candidates(version, record.high_water_seq, params.pool_size,
                                                            params.stratify_by, tokenizer_for(limits.model).encoding,
                                                            max_tokens=limits.max_example_tokens)
            held_out, previous = await registry.previous_validation()
        golden = await asyncio.to_thread(_read_golden, params.golden_set)
        evaluation = EvaluationSet(
            golden=sketch_texts(golden.texts if golden else []),
            previous_validation=signatures_from_bytes(previous), held_out_sessions=frozenset(held_out))
        plan = await asyncio.to_thread(plan_selection, candidates, signatures, evaluation, params.rules(limits))
        del signatures
        log.info("dataset selected", dataset_id=record.dataset_id, candidates=plan.candidates,
                 train=len(plan.train), validation=len(plan.validation), excluded=plan.excluded_total)

        staging = await asyncio.to_thread(self.blobs.staging_dir, staging_name(record))
        async with new_uow() as uow:
            store = self.examples(uow)
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
        async with new_uow() as uow:
            await self.registry(uow).hold(record.dataset_id, record.attempts)
            await self.registry(uow).stage(
                record.dataset_id, {TRAIN: train.example_ids, VALIDATION: validation.example_ids}, manifest, files)
            await uow.commit()
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


class SplitWriter:
    """Validates lines and appends the valid ones to one JSONL file, hashing as it goes."""

    def __init__(self, path: Path, limits: ModelLimits) -> None:
        self.path = path
        self._limits = limits
        self._file = path.open("wb")
        self._sha = hashlib.sha256()
        self.size = 0
        self.kept: list[str] = []
        self.tokens: list[int] = []
        self.invalid: Counter[str] = Counter()
        self.invalid_examples = 0

    def write_chunk(self, chosen: Sequence[Candidate], lines: Mapping[str, str]) -> None:
        for candidate in chosen:
            example_id = candidate.example_id
            line = lines.get(example_id)
            if line is None:
                raise ExampleMissing(f"example {example_id} was chosen but has no stored line")
            check = check_example(json.loads(line), self._limits, tokens=candidate.tokens)
            if check.issues:
                self.invalid_examples += 1
                self.invalid.update({issue.code for issue in check.issues})
                continue
            data = line.encode("utf-8") + b"\n"
            self._file.write(data)
            self._sha.update(data)
            self.size += len(data)
            self.kept.append(example_id)
            self.tokens.append(check.tokens or 0)

    def close(self) -> str:
        """Flush, fsync and close the file; returns its sha256."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return self._sha.hexdigest()

    def abandon(self) -> None:
        self._file.close()


async def write_split(store: AbstractExampleStore, name: str, chosen: Sequence[Candidate], folder: Path,
                      limits: ModelLimits) -> WrittenSplit:
    """Write ``chosen`` as ``folder/<name>.jsonl``, valid examples only."""
    ordered = sorted(chosen, key=lambda c: c.example_id)
    writer = SplitWriter(folder / FILE_NAMES[name], limits)
    chunks = [ordered[i:i + CHUNK] for i in range(0, len(ordered), CHUNK)]
    upcoming: asyncio.Future[dict[str, str]] | None = None
    try:
        for number, chunk in enumerate(chunks):
            lines = await (upcoming if upcoming is not None else store.lines([c.example_id for c in chunk]))
            following = chunks[number + 1] if number + 1 < len(chunks) else None
            upcoming = asyncio.ensure_future(store.lines([c.example_id for c in following])) if following else None
            await asyncio.to_thread(writer.write_chunk, chunk, lines)
            crash_point(f"dataset_{name}_chunk_written")
        sha = writer.close()
    except BaseException:
        if upcoming is not None:
            upcoming.cancel()
        writer.abandon()
        raise
    by_id = {c.example_id: c for c in chosen}
    kept = [by_id[i] for i in writer.kept]
    return WrittenSplit(
        name=name, sha256=sha, size_bytes=writer.size, example_ids=writer.kept, tokens=writer.tokens,
        sessions=len({c.session_key for c in kept}),
        strata=dict(sorted(Counter(c.stratum for c in kept).items())),
        invalid=dict(sorted(writer.invalid.items())), invalid_examples=writer.invalid_examples,
    )
