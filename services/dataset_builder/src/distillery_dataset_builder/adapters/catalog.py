"""The dataset registry as people read it: list, show and compare datasets (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text

from distillery_dataset_builder.adapters.tables import build_failures, dataset_examples, datasets, examples


@dataclass(frozen=True)
class DatasetSummary:
    """One dataset (or the build in progress) as a row of ``distillery dataset list``."""

    dataset_id: str
    version: int
    status: str
    cycle_id: str
    trigger: str
    base_model: str
    started_at: datetime
    published_at: datetime | None
    manifest: dict[str, Any] | None
    files: dict[str, Any] | None

    def count(self, split: str) -> int | None:
        return None if self.manifest is None else self.manifest["files"][split]["examples"]


@dataclass(frozen=True)
class FailedBuild:
    """A build that published nothing, and why."""

    dataset_id: str
    version: int
    trigger: str
    reason: str
    failed_at: datetime


@dataclass(frozen=True)
class Overlap:
    """How two datasets' examples compare (by example id)."""

    added: int
    removed: int
    kept: int


class SqlDatasetCatalog:
    """Reads the dataset-builder's schema; ``conn`` is an async connection or session."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def schema_ready(self) -> bool:
        """Whether the dataset-builder has created its tables in this database."""
        return (await self._conn.execute(text("select to_regclass('datasets')"))).scalar() is not None

    async def list_datasets(self) -> list[DatasetSummary]:
        rows = await self._conn.execute(_summary().order_by(datasets.c.version.desc()))
        return [DatasetSummary(**row._mapping) for row in rows]

    async def get(self, dataset_id: str) -> DatasetSummary | None:
        row = (await self._conn.execute(_summary().where(datasets.c.dataset_id == dataset_id))).first()
        return None if row is None else DatasetSummary(**row._mapping)

    async def failures(self, limit: int = 10) -> list[FailedBuild]:
        f = build_failures.c
        rows = await self._conn.execute(
            select(f.dataset_id, f.version, f.trigger, f.reason, f.failed_at).order_by(f.id.desc()).limit(limit))
        return [FailedBuild(**row._mapping) for row in rows]

    async def retracted_since(self, dataset_id: str) -> int:
        """Members of the dataset that the cleaner has since taken back."""
        stmt = (select(func.count()).select_from(dataset_examples.join(
            examples, dataset_examples.c.example_id == examples.c.example_id))
            .where(dataset_examples.c.dataset_id == dataset_id, examples.c.retracted.is_(True)))
        return int((await self._conn.execute(stmt)).scalar_one())

    async def tag_counts(self, dataset_id: str) -> dict[str, int]:
        """Examples per tag (and per intent, as ``intent:<value>`` when no such tag exists)."""
        rows = await self._conn.execute(text("""
            select tag, count(*) from (
                select distinct e.example_id, t.tag
                from dataset_examples d join examples e on e.example_id = d.example_id,
                     unnest(e.tags || case when e.intent is null then '{}'::text[]
                                           else array['intent:' || e.intent] end) as t(tag)
                where d.dataset_id = :ds) tagged
            group by tag order by tag"""), {"ds": dataset_id})
        return {tag: count for tag, count in rows}

    async def overlap(self, first: str, second: str) -> Overlap:
        row = (await self._conn.execute(text("""
            select count(*) filter (where a.example_id is null) as added,
                   count(*) filter (where b.example_id is null) as removed,
                   count(*) filter (where a.example_id is not null and b.example_id is not null) as kept
            from (select example_id from dataset_examples where dataset_id = :a) a
            full join (select example_id from dataset_examples where dataset_id = :b) b
              on a.example_id = b.example_id"""), {"a": first, "b": second})).one()
        return Overlap(added=row.added, removed=row.removed, kept=row.kept)


def _summary():  # type: ignore[no-untyped-def]
    d = datasets.c
    return select(d.dataset_id, d.version, d.status, d.cycle_id, d.trigger, d.base_model, d.started_at,
                  d.published_at, d.manifest, d.files)
