"""OpenAI chat fine-tuning rules, for one example in memory or a whole JSONL file.

The rules are those of OpenAI's supervised fine-tuning input (``FineTuneChatRequestInput``
in its OpenAPI document, and the cookbook's data-preparation checks), so a file that
passes here is not rejected after upload and hours of queueing. A file is read line by
line and every error is reported with its line number; validation never stops at the
first one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from distillery_runtime.pricing import PriceTable, UnknownPriceError

from distillery_dataset_builder.domain.example_rules import ExampleCheck, check_example
from distillery_dataset_builder.domain.issues import Issue, LineError
from distillery_dataset_builder.domain.jsonl_scan import ScanResult, scan_file
from distillery_dataset_builder.domain.limits import ModelLimits, limits_for
from distillery_dataset_builder.domain.report import (
    TokenStats,
    TrainingEstimate,
    ValidationReport,
    default_epochs,
)

__all__ = [
    "ExampleCheck",
    "Issue",
    "LineError",
    "ModelLimits",
    "TokenStats",
    "TrainingEstimate",
    "ValidationReport",
    "check_example",
    "default_epochs",
    "limits_for",
    "size_text",
    "validate_example",
    "validate_jsonl",
]

DEFAULT_MAX_ERRORS = 1_000


def validate_example(example: Any, limits: ModelLimits) -> list[Issue]:
    """Every rule ``example`` breaks, the per-example token limit included."""
    return check_example(example, limits).issues


def validate_jsonl(
    path: str | os.PathLike[str],
    model: str,
    epochs: int | None = None,
    *,
    limits: ModelLimits | None = None,
    prices: PriceTable | None = None,
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> ValidationReport:
    """Validate a JSONL training file for ``model``, streaming it line by line.

    ``epochs`` None estimates the bill with OpenAI's default epoch rule. ``limits``
    defaults to the model's entry in the limits table, ``prices`` to the price table
    from the environment. At most ``max_errors`` errors are kept; all are counted.
    Raises FileNotFoundError when ``path`` does not exist, UnknownLimitsError or
    UnknownModelError for a model whose limits or tokenizer are not known.
    """
    if epochs is not None and epochs < 1:
        raise ValueError("epochs must be at least 1")
    limits = limits or limits_for(model)
    file = Path(path)
    scan = scan_file(file, limits, max_errors)
    file_bytes = file.stat().st_size
    _check_file(scan, limits, file_bytes)
    return ValidationReport(
        path=str(file),
        limits=limits,
        file_bytes=file_bytes,
        examples=scan.examples,
        invalid_examples=scan.invalid_examples,
        error_count=scan.error_count,
        errors=scan.errors,
        tokens=TokenStats.of(scan.token_counts),
        training=_estimate_training(scan, limits, epochs, prices or PriceTable.from_env()),
    )


def _check_file(scan: ScanResult, limits: ModelLimits, file_bytes: int) -> None:
    if scan.examples < limits.min_examples:
        scan.report(
            LineError(
                None,
                "too_few_examples",
                f"file has {scan.examples} examples; OpenAI needs at least {limits.min_examples}",
            )
        )
    if file_bytes > limits.max_file_bytes:
        scan.report(
            LineError(
                None,
                "file_too_large",
                f"file is {size_text(file_bytes)}; OpenAI accepts at most {size_text(limits.max_file_bytes)}",
            )
        )


def _estimate_training(
    scan: ScanResult, limits: ModelLimits, epochs: int | None, prices: PriceTable
) -> TrainingEstimate | None:
    if not scan.token_counts:
        return None
    chosen = epochs if epochs is not None else default_epochs(scan.examples)
    per_epoch = sum(min(tokens, limits.max_example_tokens) for tokens in scan.token_counts)
    try:
        cost: float | None = prices.training_cost(limits.model, per_epoch, chosen)
        note = None
    except UnknownPriceError as exc:
        cost, note = None, str(exc)
    return TrainingEstimate(
        epochs=chosen,
        epochs_defaulted=epochs is None,
        billable_tokens=per_epoch * chosen,
        cost_usd=cost,
        cost_note=note,
    )


def size_text(size: int) -> str:
    """A byte count as people read it: ``512 MB``, ``600.2 MB``, ``1.5 kB`` (SI units)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"
