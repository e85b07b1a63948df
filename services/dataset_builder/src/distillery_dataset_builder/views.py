"""Read-only views of the datasets for the command line: list, show, compare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from distillery_dataset_builder.adapters.catalog import DatasetSummary, Overlap, SqlDatasetCatalog
from distillery_dataset_builder.adapters.tables import PUBLISHED
from distillery_dataset_builder.app import SCHEMA
from distillery_dataset_builder.domain.diff import Shift, TagShift, figure_shifts, tag_shifts
from distillery_runtime.db import check_database, create_engine
from distillery_runtime.errors import ConfigError


class UnknownDataset(LookupError):
    """No published dataset has this id."""


@asynccontextmanager
async def open_catalog(database_url: str) -> AsyncIterator[SqlDatasetCatalog]:
    """The dataset catalog of the database at ``database_url``, or a ConfigError saying what is missing."""
    engine = create_engine(database_url, SCHEMA, pool_size=1)
    try:
        await check_database(engine)
        async with engine.connect() as conn:
            catalog = SqlDatasetCatalog(conn)
            if not await catalog.schema_ready():
                raise ConfigError("this database has no dataset-builder tables yet: start the service "
                                  "('distillery run dataset-builder') or run 'distillery migrate dataset-builder'")
            yield catalog
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class DatasetDetails:
    """One dataset with what changed since it was built."""

    summary: DatasetSummary
    retracted_since: int


@dataclass(frozen=True)
class DatasetComparison:
    """What changed from one dataset to another."""

    first: DatasetSummary
    second: DatasetSummary
    overlap: Overlap
    figures: list[Shift]
    tags: list[TagShift]


async def published(catalog: SqlDatasetCatalog, dataset_id: str) -> DatasetSummary:
    found = await catalog.get(dataset_id)
    if found is None or found.status != PUBLISHED or found.manifest is None:
        known = [d.dataset_id for d in await catalog.list_datasets() if d.status == PUBLISHED]
        hint = f"published datasets: {', '.join(known[:10])}" if known else "no dataset is published yet"
        raise UnknownDataset(f"no published dataset {dataset_id!r}; {hint}")
    return found


async def details(catalog: SqlDatasetCatalog, dataset_id: str) -> DatasetDetails:
    summary = await published(catalog, dataset_id)
    return DatasetDetails(summary, await catalog.retracted_since(dataset_id))


async def compare(catalog: SqlDatasetCatalog, first_id: str, second_id: str) -> DatasetComparison:
    first, second = await published(catalog, first_id), await published(catalog, second_id)
    assert first.manifest is not None and second.manifest is not None

    def total(summary: DatasetSummary) -> int:
        return (summary.count("train") or 0) + (summary.count("validation") or 0)

    tags = tag_shifts(await catalog.tag_counts(first_id), total(first),
                      await catalog.tag_counts(second_id), total(second))
    return DatasetComparison(first, second, await catalog.overlap(first_id, second_id),
                             figure_shifts(first.manifest, second.manifest), tags)
