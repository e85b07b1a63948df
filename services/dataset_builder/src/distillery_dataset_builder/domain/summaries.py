"""The read models of the dataset catalog: what ``distillery dataset list/show/diff`` print."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
