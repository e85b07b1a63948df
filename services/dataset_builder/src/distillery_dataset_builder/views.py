"""What ``distillery dataset`` reads: the catalog (list, show, compare) and local-file checks.

Every function returns plain read models; the catalog functions open the dataset-builder's
schema with ``open_service_schema``, which says in one line when the database is not
reachable or the service has not created its tables yet. The ``*_in`` variants take a
catalog, so tests drive them with the fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from distillery_dataset_builder.adapters.catalog import AbstractDatasetCatalog, SqlDatasetCatalog
from distillery_dataset_builder.adapters.tables import PUBLISHED
from distillery_dataset_builder.app import NAME, SCHEMA
from distillery_dataset_builder.domain.diff import Shift, TagShift, figure_shifts, tag_shifts
from distillery_dataset_builder.domain.limits import ModelLimits, UnknownLimitsError, limits_for
from distillery_dataset_builder.domain.report import ValidationReport
from distillery_dataset_builder.domain.summaries import DatasetSummary, FailedBuild, Overlap
from distillery_dataset_builder.domain.validation import size_text, validate_jsonl
from distillery_runtime.db import open_service_schema
from distillery_runtime.tokens import tokenizer_for

__all__ = ["DatasetComparison", "DatasetDetails", "DatasetListing", "DatasetSummary", "FailedBuild", "Overlap",
           "Shift", "TagShift", "UnknownDataset", "UnknownLimitsError", "ValidationReport", "compare_datasets",
           "dataset_details", "list_datasets", "model_limits", "size_text", "validate_file"]


class UnknownDataset(LookupError):
    """No published dataset has this id."""


@dataclass(frozen=True)
class DatasetListing:
    """Every dataset, newest first, and the most recent failed builds."""

    datasets: list[DatasetSummary]
    failures: list[FailedBuild]


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


def validate_file(path: Path, model: str, epochs: int | None = None) -> ValidationReport:
    """Check a JSONL file against the provider's fine-tuning rules for ``model`` and estimate its cost.

    Raises UnknownLimitsError or the runtime's UnknownModelError for a model without known
    limits or tokenizer, OSError when the file cannot be read.
    """
    return validate_jsonl(path, model, epochs)


def model_limits(model: str) -> ModelLimits:
    """The provider's limits for ``model``; raises as :func:`validate_file` does when it is unknown."""
    limits = limits_for(model)
    tokenizer_for(model)
    return limits


@asynccontextmanager
async def _catalog(database_url: str) -> AsyncIterator[AbstractDatasetCatalog]:
    async with open_service_schema(database_url, SCHEMA, NAME) as sessions, sessions() as session:
        yield SqlDatasetCatalog(session)


async def list_datasets(database_url: str) -> DatasetListing:
    async with _catalog(database_url) as catalog:
        return DatasetListing(await catalog.list_datasets(), await catalog.failures())


async def dataset_details(database_url: str, dataset_id: str) -> DatasetDetails:
    """Raises :class:`UnknownDataset` naming the published ones when ``dataset_id`` is not one."""
    async with _catalog(database_url) as catalog:
        return await details_in(catalog, dataset_id)


async def compare_datasets(database_url: str, first_id: str, second_id: str) -> DatasetComparison:
    async with _catalog(database_url) as catalog:
        return await comparison_in(catalog, first_id, second_id)


async def published_in(catalog: AbstractDatasetCatalog, dataset_id: str) -> DatasetSummary:
    found = await catalog.get(dataset_id)
    if found is None or found.status != PUBLISHED or found.manifest is None:
        known = [d.dataset_id for d in await catalog.list_datasets() if d.status == PUBLISHED]
        hint = f"published datasets: {', '.join(known[:10])}" if known else "no dataset is published yet"
        raise UnknownDataset(f"no published dataset {dataset_id!r}; {hint}")
    return found


async def details_in(catalog: AbstractDatasetCatalog, dataset_id: str) -> DatasetDetails:
    summary = await published_in(catalog, dataset_id)
    return DatasetDetails(summary, await catalog.retracted_since(dataset_id))


async def comparison_in(catalog: AbstractDatasetCatalog, first_id: str, second_id: str) -> DatasetComparison:
    first, second = await published_in(catalog, first_id), await published_in(catalog, second_id)
    assert first.manifest is not None and second.manifest is not None

    def total(summary: DatasetSummary) -> int:
        return (summary.count("train") or 0) + (summary.count("validation") or 0)

    tags = tag_shifts(await catalog.tag_counts(first_id), total(first),
                      await catalog.tag_counts(second_id), total(second))
    return DatasetComparison(first, second, await catalog.overlap(first_id, second_id),
                             figure_shifts(first.manifest, second.manifest), tags)
