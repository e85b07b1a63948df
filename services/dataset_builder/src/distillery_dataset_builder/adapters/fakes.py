"""In-memory stores for unit tests, one per abstract store, each recording what it was given.

They share state the way the tables do: the registry reads the example store's rows for
the validation sets it protects, and the catalog reads both. Each runs the same contract
suite as its SQL twin (``services/dataset_builder/tests/test_*_contract.py`` here,
``tests/integration/test_dataset_store_contracts.py`` against PostgreSQL).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from distillery_contracts.commands import BuildDataset
from distillery_contracts.envelope import Envelope
from distillery_contracts.examples import ExampleRejected
from distillery_contracts.privacy import StoreErasure
from distillery_dataset_builder.adapters.catalog import AbstractDatasetCatalog
from distillery_dataset_builder.adapters.erasure_store import erasures
from distillery_dataset_builder.adapters.example_retention import AbstractExampleRetention
from distillery_dataset_builder.adapters.example_store import AbstractExampleStore, CleanerVersion
from distillery_dataset_builder.adapters.registry import AbstractDatasetRegistry, BuildRecord, BuildRequest
from distillery_dataset_builder.adapters.tables import BUILDING, PUBLISHED
from distillery_dataset_builder.domain.records import ExampleRecord, kept_for_later, retracts
from distillery_dataset_builder.domain.selection import Candidate, stratum_of
from distillery_dataset_builder.domain.sketch import signatures_from_bytes
from distillery_dataset_builder.domain.summaries import DatasetSummary, FailedBuild, Overlap
from distillery_runtime.erasure import AbstractErasureStore, Caller
from distillery_runtime.fencing import LostLease


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FakeExampleStore(AbstractExampleStore):
    """In memory; records the rejections it kept so tests can assert on them."""

    def __init__(self) -> None:
        self.rows: dict[str, ExampleRecord] = {}
        self.seq: dict[str, int] = {}
        self.retracted: dict[str, str] = {}
        self.kept_rejections: list[ExampleRejected] = []

    async def add(self, records: Sequence[ExampleRecord]) -> int:
        new = [r for r in dict((r.example_id, r) for r in records).values() if r.example_id not in self.rows]
        for record in new:
            self.rows[record.example_id] = record
            self.seq[record.example_id] = len(self.seq) + 1
            pending = next((k for k in self.kept_rejections if retracts(k, record)), None)
            if pending is not None:
                self.retracted[record.example_id] = pending.rejection_id
        return len(new)

    async def retract(self, rejections: Sequence[ExampleRejected]) -> list[str]:
        hit: set[str] = set()
        for rejection in rejections:
            matched = [r for r in self.rows.values() if r.example_id not in self.retracted and retracts(rejection, r)]
            for record in matched:
                self.retracted[record.example_id] = rejection.rejection_id
                hit.add(record.example_id)
            if matched or kept_for_later(rejection):
                self.kept_rejections.append(rejection)
        return sorted(hit)

    async def high_water_mark(self) -> int:
        return max(self.seq.values(), default=0)

    async def count_new(self, after_seq: int) -> int:
        return sum(1 for i, s in self.seq.items() if s > after_seq and i not in self.retracted)

    async def newest_version(self, cleaner_version: str | None, up_to_seq: int) -> CleanerVersion | None:
        usable = [i for i, s in sorted(self.seq.items(), key=lambda kv: -kv[1]) if s <= up_to_seq
                  and (cleaner_version is None or self.rows[i].cleaner_version == cleaner_version)]
        return (self.rows[usable[0]].cleaner_version, self.rows[usable[0]].config_hash) if usable else None

    async def candidates(self, version: CleanerVersion, up_to_seq: int, limit: int, stratify_by: Sequence[str],
                         encoding: str, max_tokens: int | None = None) -> tuple[list[Candidate], np.ndarray]:
        usable = [r for r in self.rows.values() if (r.cleaner_version, r.config_hash) == version
                  and r.example_id not in self.retracted and self.seq[r.example_id] <= up_to_seq
                  and (max_tokens is None or r.token_encoding != encoding or r.tokens is None
                       or r.tokens <= max_tokens)]
        usable.sort(key=lambda r: r.example_id)
        usable.sort(key=lambda r: r.captured_at, reverse=True)
        chosen = usable[:limit]
        found = [Candidate(r.example_id, r.session_key, r.captured_at, stratum_of(r.intent, r.tags, stratify_by),
                           r.body_bytes, r.tokens if r.token_encoding == encoding else None) for r in chosen]
        return found, signatures_from_bytes([r.signature for r in chosen])

    async def lines(self, example_ids: Sequence[str]) -> dict[str, str]:
        return {i: self.rows[i].body for i in example_ids if i in self.rows}



@dataclass
class _Dataset:
    """A ``datasets`` row and its members."""

    record: BuildRecord
    status: str
    started_at: datetime
    published_at: datetime | None = None
    members: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Failure:
    failed: FailedBuild
    high_water_seq: int
    command_id: str | None


class FakeDatasetRegistry(AbstractDatasetRegistry):
    """In memory; ``examples`` stands for the examples table the validation sets are read from."""

    def __init__(self, examples: FakeExampleStore | None = None, clock: Callable[[], datetime] = _utc_now) -> None:
        self.examples = examples or FakeExampleStore()
        self.clock = clock
        self.requests: dict[str, BuildRequest] = {}
        self.taken: dict[str, str] = {}
        """Command id → the dataset whose build took it."""
        self.datasets: dict[str, _Dataset] = {}
        self.failed: list[_Failure] = []
        self.schedule: tuple[str, datetime] | None = None

    async def add_requests(self, commands: Sequence[tuple[BuildDataset, Envelope]]) -> None:
        for command, envelope in commands:
            self.requests.setdefault(command.command_id, BuildRequest(
                command.command_id, command.requested_by, command.target_size, command.base_model,
                command.cycle_id, envelope.model_dump(mode="json")))

    async def next_request(self) -> BuildRequest | None:
        return next((r for r in self.requests.values() if r.command_id not in self.taken), None)

    async def building(self) -> BuildRecord | None:
        return next((d.record for d in self.datasets.values() if d.status == BUILDING), None)

    async def next_version(self) -> int:
        return max((d.record.version for d in self.datasets.values()), default=0) + 1

    async def last_high_water(self) -> int:
        marks = [d.record.high_water_seq for d in self.datasets.values()] + [f.high_water_seq for f in self.failed]
        return max(marks, default=0)

    async def begin(self, record: BuildRecord) -> None:
        if await self.building() is not None or record.dataset_id in self.datasets:
            raise ValueError(f"cannot begin {record.dataset_id}: another build is in progress or it exists")
        self.datasets[record.dataset_id] = _Dataset(replace(record, attempts=1, manifest=None, files=None),
                                                    BUILDING, self.clock())
        if record.command_id is not None and record.command_id in self.requests:
            self.taken[record.command_id] = record.dataset_id

    async def stage(self, dataset_id: str, members: Mapping[str, Sequence[str]], manifest: dict[str, Any],
                    files: dict[str, Any]) -> None:
        dataset = self.datasets[dataset_id]
        dataset.members = {split: list(ids) for split, ids in members.items()}
        dataset.record = replace(dataset.record, manifest=manifest, files=files)

    async def publish(self, dataset_id: str, at: datetime) -> None:
        dataset = self.datasets[dataset_id]
        dataset.status, dataset.published_at = PUBLISHED, at

    async def hold(self, dataset_id: str, attempt: int) -> None:
        dataset = self.datasets.get(dataset_id)
        if dataset is None or dataset.status != BUILDING or dataset.record.attempts != attempt:
            raise LostLease(f"build {dataset_id}: attempt {attempt} was taken up again by another instance")

    async def retry(self, dataset_id: str) -> None:
        dataset = self.datasets[dataset_id]
        dataset.members = {}
        dataset.record = replace(dataset.record, attempts=dataset.record.attempts + 1, manifest=None, files=None)

    async def fail(self, record: BuildRecord, reason: str) -> None:
        failed = FailedBuild(record.dataset_id, record.version, record.trigger, reason, self.clock())
        self.failed.append(_Failure(failed, record.high_water_seq, record.command_id))
        self.datasets.pop(record.dataset_id, None)

    async def previous_validation(self) -> tuple[set[str], list[bytes]]:
        ids = {i for d in self.datasets.values() if d.status == PUBLISHED for i in d.members.get("validation", [])}
        rows = {(self.examples.rows[i].session_key, self.examples.rows[i].signature)
                for i in ids if i in self.examples.rows}
        return {session for session, _ in rows}, [signature for _, signature in rows]

    async def schedule_anchor(self, expression: str, now: datetime) -> datetime:
        if self.schedule is not None and self.schedule[0] == expression:
            return self.schedule[1]
        await self.set_schedule_anchor(expression, now)
        return now

    async def set_schedule_anchor(self, expression: str, at: datetime) -> None:
        self.schedule = (expression, at)


class FakeDatasetCatalog(AbstractDatasetCatalog):
    """Reads a fake registry and its example store, as the SQL catalog reads their tables."""

    def __init__(self, registry: FakeDatasetRegistry) -> None:
        self.registry = registry

    def _summary(self, dataset: _Dataset) -> DatasetSummary:
        r = dataset.record
        return DatasetSummary(r.dataset_id, r.version, dataset.status, r.cycle_id, r.trigger, r.base_model,
                              dataset.started_at, dataset.published_at, r.manifest, r.files)

    def _members(self, dataset_id: str) -> set[str]:
        dataset = self.registry.datasets.get(dataset_id)
        return set() if dataset is None else {i for ids in dataset.members.values() for i in ids}

    async def list_datasets(self) -> list[DatasetSummary]:
        found = sorted(self.registry.datasets.values(), key=lambda d: d.record.version, reverse=True)
        return [self._summary(d) for d in found]

    async def get(self, dataset_id: str) -> DatasetSummary | None:
        dataset = self.registry.datasets.get(dataset_id)
        return None if dataset is None else self._summary(dataset)

    async def failures(self, limit: int = 10) -> list[FailedBuild]:
        return [f.failed for f in reversed(self.registry.failed)][:limit]

    async def retracted_since(self, dataset_id: str) -> int:
        return len(self._members(dataset_id) & set(self.registry.examples.retracted))

    async def tag_counts(self, dataset_id: str) -> dict[str, int]:
        rows = self.registry.examples.rows
        counts: Counter[str] = Counter()
        for example_id in self._members(dataset_id) & set(rows):
            record = rows[example_id]
            intent = [] if record.intent is None else [f"intent:{record.intent}"]
            counts.update(set(record.tags) | set(intent))
        return dict(sorted(counts.items()))

    async def overlap(self, first: str, second: str) -> Overlap:
        before, after = self._members(first), self._members(second)
        return Overlap(added=len(after - before), removed=len(before - after), kept=len(before & after))


class FakeErasureStore(AbstractErasureStore):
    """Erases from a FakeDatasetRegistry and the FakeExampleStore it reads."""

    def __init__(self, registry: FakeDatasetRegistry) -> None:
        self.registry = registry

    async def erase(self, caller: Caller) -> list[StoreErasure]:
        store = self.registry.examples
        gone = {i for i, r in store.rows.items() if caller.matches(r.session_id, r.trace_id)}
        in_builds, published = 0, set()
        for dataset_id, dataset in self.registry.datasets.items():
            for split, members in dataset.members.items():
                hit = [m for m in members if m in gone]
                if hit and dataset.status == BUILDING:
                    dataset.members[split] = [m for m in members if m not in gone]
                    in_builds += len(hit)
                elif hit:
                    published.add(dataset_id)
        for example_id in gone:
            del store.rows[example_id]
            store.seq.pop(example_id, None)
        return erasures(len(gone), in_builds, sorted(published))


class FakeExampleRetention(AbstractExampleRetention):
    """Forgets examples of a FakeDatasetRegistry's example store by their ``stored_at`` here
    (the fake store keeps no time): tests set it per example id."""

    def __init__(self, registry: FakeDatasetRegistry) -> None:
        self.registry = registry
        self.stored_at: dict[str, datetime] = {}

    async def forget_examples(self, stored_before: datetime, limit: int) -> int:
        store = self.registry.examples
        building = {m for d in self.registry.datasets.values() if d.status == BUILDING
                    for members in d.members.values() for m in members}
        old = [i for i in sorted(store.rows, key=lambda i: store.seq[i])
               if self.stored_at.get(i, stored_before) < stored_before and i not in building][:limit]
        for example_id in old:
            del store.rows[example_id]
            store.seq.pop(example_id)
        return len(old)
