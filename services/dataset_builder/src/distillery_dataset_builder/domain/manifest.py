"""manifest.json: everything a person needs to trust a dataset, and the DatasetBuilt event.

The manifest holds no wall-clock time, so two builds over the same examples with the same
parameters differ only in their identity (dataset id, version, cycle). The event is made
from the manifest, so a build finished after a crash announces exactly what was written.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from distillery_contracts.common import TimeRange
from distillery_contracts.datasets import (
    BuildTrigger,
    DatasetBuilt,
    DatasetCounts,
    DatasetFile,
    DatasetFiles,
    SelectionParameters,
)
from distillery_contracts.datasets import TokenStats as EventTokenStats
from distillery_dataset_builder.domain.plan import SelectionPlan
from distillery_dataset_builder.domain.report import TokenStats

MANIFEST_VERSION = 1
TRAIN, VALIDATION, MANIFEST = "train", "validation", "manifest"
FILE_NAMES = {TRAIN: "train.jsonl", VALIDATION: "validation.jsonl", MANIFEST: "manifest.json"}


@dataclass(frozen=True)
class WrittenSplit:
    """One JSONL file as written: its digest and what went in or was dropped."""

    name: str
    sha256: str
    size_bytes: int
    example_ids: list[str]
    tokens: list[int]
    """Token count of each written example, in file order."""
    sessions: int
    strata: dict[str, int]
    invalid: dict[str, int]
    """Rule code → dropped examples that broke it."""
    invalid_examples: int


@dataclass(frozen=True)
class DatasetIdentity:
    """Who the dataset is and what made it."""

    dataset_id: str
    version: int
    cycle_id: str
    trigger: BuildTrigger
    base_model: str
    epochs: int


@dataclass(frozen=True)
class Lineage:
    """Where the chosen examples come from."""

    cleaner_versions: list[str]
    config_hashes: list[str]
    start: datetime
    end: datetime
    golden_set: dict[str, Any] | None


def build_manifest(identity: DatasetIdentity, plan: SelectionPlan, train: WrittenSplit,
                   validation: WrittenSplit, selection: SelectionParameters, lineage: Lineage,
                   training_cost_usd: float) -> dict[str, Any]:
    """The manifest's content; see :func:`manifest_bytes` for its file form."""
    stats = TokenStats.of(train.tokens)
    by_rule = Counter(train.invalid) + Counter(validation.invalid)
    return {
        "manifest_version": MANIFEST_VERSION,
        "dataset_id": identity.dataset_id,
        "version": identity.version,
        "cycle_id": identity.cycle_id,
        "trigger": identity.trigger.value,
        "base_model": identity.base_model,
        "epochs": identity.epochs,
        "files": {split.name: _file_entry(split) for split in (train, validation)},
        "counts": {
            "candidate_examples": plan.candidates,
            "dropped_by_session_cap": plan.dropped_by_session_cap,
            "excluded_eval_near_duplicates": {**plan.excluded, "total": plan.excluded_total},
            "invalid_dropped": {TRAIN: train.invalid_examples, VALIDATION: validation.invalid_examples,
                                "by_rule": dict(sorted(by_rule.items()))},
            "train_quota": plan.train_quota,
            "size_limited": plan.size_limited,
        },
        "token_stats": {
            "train_tokens": sum(train.tokens),
            "validation_tokens": sum(validation.tokens),
            "train_per_example": None if stats is None else {
                "min": stats.min, "mean": round(stats.mean, 3), "p50": stats.p50, "p95": stats.p95,
                "max": stats.max},
        },
        "estimated_training": {
            "billable_tokens": sum(train.tokens) * identity.epochs,
            "cost_usd": round(training_cost_usd, 6),
        },
        "source_time_range": {"start": lineage.start.isoformat(), "end": lineage.end.isoformat()},
        "cleaner_versions": lineage.cleaner_versions,
        "cleaner_config_hashes": lineage.config_hashes,
        "selection": selection.model_dump(mode="json"),
        "strata": {TRAIN: train.strata, VALIDATION: validation.strata},
        "golden_set": lineage.golden_set,
    }


def _file_entry(split: WrittenSplit) -> dict[str, Any]:
    return {"file": FILE_NAMES[split.name], "sha256": split.sha256, "size_bytes": split.size_bytes,
            "examples": len(split.example_ids), "sessions": split.sessions}


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest file: sorted, indented JSON, newline-terminated."""
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def dataset_built(manifest: dict[str, Any], uris: dict[str, str], manifest_file: tuple[str, int],
                  built_at: datetime) -> DatasetBuilt:
    """The event announcing a dataset, from its manifest, file URIs and the manifest's digest."""
    files, counts, tokens = manifest["files"], manifest["counts"], manifest["token_stats"]
    per_example = tokens["train_per_example"] or {"mean": 0.0, "p50": 0, "p95": 0, "max": 0}
    return DatasetBuilt(
        dataset_id=manifest["dataset_id"],
        version=manifest["version"],
        cycle_id=manifest["cycle_id"],
        base_model=manifest["base_model"],
        files=DatasetFiles(
            train=DatasetFile(uri=uris[TRAIN], sha256=files[TRAIN]["sha256"], size_bytes=files[TRAIN]["size_bytes"]),
            validation=DatasetFile(uri=uris[VALIDATION], sha256=files[VALIDATION]["sha256"],
                                   size_bytes=files[VALIDATION]["size_bytes"]),
            manifest=DatasetFile(uri=uris[MANIFEST], sha256=manifest_file[0], size_bytes=manifest_file[1]),
        ),
        counts=DatasetCounts(
            train_examples=files[TRAIN]["examples"], validation_examples=files[VALIDATION]["examples"],
            train_sessions=files[TRAIN]["sessions"], validation_sessions=files[VALIDATION]["sessions"],
            candidate_examples=counts["candidate_examples"],
        ),
        token_stats=EventTokenStats(
            train_tokens=tokens["train_tokens"], validation_tokens=tokens["validation_tokens"],
            mean_per_example=per_example["mean"], p50_per_example=per_example["p50"],
            p95_per_example=per_example["p95"], max_per_example=per_example["max"],
        ),
        estimated_training_cost_usd=manifest["estimated_training"]["cost_usd"],
        epochs=manifest["epochs"],
        cleaner_versions=manifest["cleaner_versions"],
        source_time_range=TimeRange(start=manifest["source_time_range"]["start"],
                                    end=manifest["source_time_range"]["end"]),
        selection=SelectionParameters.model_validate(manifest["selection"]),
        excluded_eval_near_duplicates=counts["excluded_eval_near_duplicates"]["total"],
        trigger=BuildTrigger(manifest["trigger"]),
        built_at=built_at,
    )
