"""The dataset registry as people read it: list, show and compare datasets (read-only)."""

from __future__ import annotations

import abc
from typing import Any

from sqlalchemy import Select, func, select, text

from distillery_dataset_builder.adapters.tables import build_failures, dataset_examples, datasets, examples
from distillery_dataset_builder.domain.summaries import DatasetSummary, FailedBuild, Overlap


class AbstractDatasetCatalog(abc.ABC):
    """The datasets and failed builds as an operator reads them; never writes."""

    @abc.abstractmethod
    async def list_datasets(self) -> list[DatasetSummary]:
        """Every dataset, the build in progress included, newest version first."""

    @abc.abstractmethod
    async def get(self, dataset_id: str) -> DatasetSummary | None:
        """One dataset (published or building), or None."""

    @abc.abstractmethod
    async def failures(self, limit: int = 10) -> list[FailedBuild]:
        """The most recent builds that published nothing, newest first."""

    @abc.abstractmethod
    async def retracted_since(self, dataset_id: str) -> int:
        """Members of the dataset that the cleaner has since taken back."""

    @abc.abstractmethod
    async def tag_counts(self, dataset_id: str) -> dict[str, int]:
        """Examples per tag (and per intent, as ``intent:<value>`` when no such tag exists)."""

    @abc.abstractmethod
    async def overlap(self, first: str, second: str) -> Overlap:
        """Examples only in ``second`` (added), only in ``first`` (removed) and in both."""


class SqlDatasetCatalog(AbstractDatasetCatalog):
    """Reads the dataset-builder's schema; ``conn`` is an async connection or session."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

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
        stmt = (select(func.count()).select_from(dataset_examples.join(
            examples, dataset_examples.c.example_id == examples.c.example_id))
            .where(dataset_examples.c.dataset_id == dataset_id, examples.c.retracted.is_(True)))
        return int((await self._conn.execute(stmt)).scalar_one())

    async def tag_counts(self, dataset_id: str) -> dict[str, int]:
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


def _summary() -> Select[Any]:
    d = datasets.c
    return select(d.dataset_id, d.version, d.status, d.cycle_id, d.trigger, d.base_model, d.started_at,
                  d.published_at, d.manifest, d.files)
