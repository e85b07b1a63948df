"""The dataset registry as the builder writes it: requests, the build in progress, publishing.

A build is a ``datasets`` row in status ``building`` (a unique partial index allows one);
its members and manifest are saved before its files are published, and one transaction
turns it ``published`` and puts DatasetBuilt in the outbox. A build that cannot finish is
moved to ``build_failures`` and its row removed, so versions count published datasets.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from distillery_contracts.commands import BuildDataset
from distillery_contracts.envelope import Envelope
from distillery_dataset_builder.adapters.tables import (
    BUILDING,
    PUBLISHED,
    build_failures,
    build_requests,
    dataset_examples,
    datasets,
    examples,
    trigger_state,
)
from distillery_runtime.fencing import LostLease

SCHEDULE = "schedule"


@dataclass(frozen=True)
class BuildRequest:
    """A BuildDataset command waiting for the builder."""

    command_id: str
    requested_by: str
    target_size: int | None
    base_model: str | None
    cycle_id: str | None
    cause: dict[str, Any]
    """The command's envelope, so that DatasetBuilt names it as its cause."""


@dataclass(frozen=True)
class BuildRecord:
    """A build in progress, with everything needed to run it again after a crash."""

    dataset_id: str
    version: int
    cycle_id: str
    trigger: str
    base_model: str
    epochs: int
    parameters: dict[str, Any]
    high_water_seq: int
    command_id: str | None = None
    cause: dict[str, Any] | None = None
    attempts: int = 1
    manifest: dict[str, Any] | None = None
    files: dict[str, Any] | None = field(default=None)


class AbstractDatasetRegistry(abc.ABC):
    """Build requests, the one build in progress, published datasets and failed builds."""

    @abc.abstractmethod
    async def add_requests(self, commands: Sequence[tuple[BuildDataset, Envelope]]) -> None:
        """Remember BuildDataset commands until a build takes them (a known command id is ignored)."""

    @abc.abstractmethod
    async def next_request(self) -> BuildRequest | None:
        """The oldest command no build has taken yet."""

    @abc.abstractmethod
    async def building(self) -> BuildRecord | None:
        """The build in progress (at most one), with what it staged so far."""

    @abc.abstractmethod
    async def next_version(self) -> int:
        """The version the next build gets: one more than the highest in use."""

    @abc.abstractmethod
    async def last_high_water(self) -> int:
        """Where the last build (published or failed) stopped reading; new examples count from here."""

    @abc.abstractmethod
    async def begin(self, record: BuildRecord) -> None:
        """Record ``record`` as the build in progress; it takes its command, if it has one."""

    @abc.abstractmethod
    async def stage(self, dataset_id: str, members: Mapping[str, Sequence[str]], manifest: dict[str, Any],
                    files: dict[str, Any]) -> None:
        """Save what a build wrote (members by split, manifest, file digests) before publishing it."""

    @abc.abstractmethod
    async def publish(self, dataset_id: str, at: datetime) -> None:
        """Mark the build published at ``at``."""

    @abc.abstractmethod
    async def retry(self, dataset_id: str) -> None:
        """Forget a crashed attempt's output and count the next attempt (which fences the earlier
        one off: see :meth:`hold`)."""

    @abc.abstractmethod
    async def hold(self, dataset_id: str, attempt: int) -> None:
        """Raise ``LostLease`` unless ``dataset_id`` is still building as attempt ``attempt``; until
        the caller's transaction ends no later attempt can begin. A builder that lost the build
        lock (and whose build another instance took up again) thus cannot save, publish or
        delete anything of it: every step that does calls this first, in the same transaction."""

    @abc.abstractmethod
    async def fail(self, record: BuildRecord, reason: str) -> None:
        """Record why a build cannot be published and remove it (its version is free again)."""

    @abc.abstractmethod
    async def previous_validation(self) -> tuple[set[str], list[bytes]]:
        """Sessions and signatures of every published validation split: the eval set to protect."""

    @abc.abstractmethod
    async def schedule_anchor(self, expression: str, now: datetime) -> datetime:
        """When the schedule last fired; a new or changed expression starts counting from ``now``."""

    @abc.abstractmethod
    async def set_schedule_anchor(self, expression: str, at: datetime) -> None:
        """Remember that the schedule ``expression`` fired at ``at``."""


class SqlDatasetRegistry(AbstractDatasetRegistry):
    """The registry in the dataset-builder's tables; ``conn`` is an async session or connection."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def add_requests(self, commands: Sequence[tuple[BuildDataset, Envelope]]) -> None:
        if not commands:
            return
        rows = [{"command_id": c.command_id, "requested_by": c.requested_by, "requested_at": c.requested_at,
                 "target_size": c.target_size, "base_model": c.base_model, "cycle_id": c.cycle_id,
                 "cause": env.model_dump(mode="json")} for c, env in commands]
        await self._conn.execute(pg_insert(build_requests).on_conflict_do_nothing(), rows)

    async def next_request(self) -> BuildRequest | None:
        r = build_requests.c
        row = (await self._conn.execute(
            select(r.command_id, r.requested_by, r.target_size, r.base_model, r.cycle_id, r.cause)
            .where(r.dataset_id.is_(None)).order_by(r.received_seq).limit(1))).first()
        return None if row is None else BuildRequest(**row._mapping)

    async def building(self) -> BuildRecord | None:
        d = datasets.c
        row = (await self._conn.execute(
            select(d.dataset_id, d.version, d.cycle_id, d.trigger, d.base_model, d.epochs, d.parameters,
                   d.high_water_seq, d.command_id, d.cause, d.attempts, d.manifest, d.files)
            .where(d.status == BUILDING))).first()
        return None if row is None else BuildRecord(**row._mapping)

    async def next_version(self) -> int:
        return int((await self._conn.execute(select(func.coalesce(func.max(datasets.c.version), 0)))).scalar_one()) + 1

    async def last_high_water(self) -> int:
        published = select(func.max(datasets.c.high_water_seq)).scalar_subquery()
        failed = select(func.max(build_failures.c.high_water_seq)).scalar_subquery()
        return int((await self._conn.execute(select(func.coalesce(func.greatest(published, failed), 0)))).scalar_one())

    async def begin(self, record: BuildRecord) -> None:
        await self._conn.execute(insert(datasets).values(
            dataset_id=record.dataset_id, version=record.version, cycle_id=record.cycle_id, status=BUILDING,
            trigger=record.trigger, command_id=record.command_id, cause=record.cause,
            base_model=record.base_model, epochs=record.epochs, parameters=record.parameters,
            high_water_seq=record.high_water_seq))
        if record.command_id is not None:
            await self._conn.execute(update(build_requests).where(build_requests.c.command_id == record.command_id)
                                     .values(dataset_id=record.dataset_id))

    async def stage(self, dataset_id: str, members: Mapping[str, Sequence[str]], manifest: dict[str, Any],
                    files: dict[str, Any]) -> None:
        await self._conn.execute(delete(dataset_examples).where(dataset_examples.c.dataset_id == dataset_id))
        ids = [i for split in members.values() for i in split]
        splits = [name for name, split in members.items() for _ in split]
        await self._conn.execute(text(
            "insert into dataset_examples (dataset_id, example_id, split) "
            "select :ds, unnest(cast(:ids as text[])), unnest(cast(:splits as text[]))"),
            {"ds": dataset_id, "ids": ids, "splits": splits})
        await self._conn.execute(update(datasets).where(datasets.c.dataset_id == dataset_id)
                                 .values(manifest=manifest, files=files))

    async def publish(self, dataset_id: str, at: datetime) -> None:
        await self._conn.execute(update(datasets).where(datasets.c.dataset_id == dataset_id)
                                 .values(status=PUBLISHED, published_at=at))

    async def hold(self, dataset_id: str, attempt: int) -> None:
        row = (await self._conn.execute(select(datasets.c.attempts, datasets.c.status).where(
            datasets.c.dataset_id == dataset_id).with_for_update(read=True))).first()
        if row is None or row.status != BUILDING or row.attempts != attempt:
            raise LostLease(f"build {dataset_id}: attempt {attempt} was taken up again by another instance")

    async def retry(self, dataset_id: str) -> None:
        await self._conn.execute(delete(dataset_examples).where(dataset_examples.c.dataset_id == dataset_id))
        await self._conn.execute(update(datasets).where(datasets.c.dataset_id == dataset_id)
                                 .values(attempts=datasets.c.attempts + 1, manifest=None, files=None))

    async def fail(self, record: BuildRecord, reason: str) -> None:
        await self._conn.execute(insert(build_failures).values(
            dataset_id=record.dataset_id, version=record.version, trigger=record.trigger,
            command_id=record.command_id, reason=reason, high_water_seq=record.high_water_seq))
        await self._conn.execute(delete(datasets).where(datasets.c.dataset_id == record.dataset_id))

    async def previous_validation(self) -> tuple[set[str], list[bytes]]:
        e, m = examples.c, dataset_examples.c
        rows = (await self._conn.execute(
            select(e.session_key, e.signature).distinct()
            .select_from(dataset_examples.join(examples, m.example_id == e.example_id)
                         .join(datasets, m.dataset_id == datasets.c.dataset_id))
            .where(m.split == "validation", datasets.c.status == PUBLISHED))).all()
        return {r.session_key for r in rows}, [r.signature for r in rows]

    async def schedule_anchor(self, expression: str, now: datetime) -> datetime:
        t = trigger_state.c
        row = (await self._conn.execute(select(t.expression, t.anchor).where(t.name == SCHEDULE))).first()
        if row is not None and row.expression == expression:
            return row.anchor
        await self.set_schedule_anchor(expression, now)
        return now

    async def set_schedule_anchor(self, expression: str, at: datetime) -> None:
        stmt = pg_insert(trigger_state).values(name=SCHEDULE, expression=expression, anchor=at)
        await self._conn.execute(stmt.on_conflict_do_update(
            index_elements=["name"], set_={"expression": expression, "anchor": at}))
