"""Fixtures of the dataset-builder's unit tests; example builders live in dataset_examples.py."""

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dataset_examples import VALID_EXAMPLE  # noqa: E402

from distillery_dataset_builder.domain.validation import validate_jsonl  # noqa: E402


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write a JSONL file: dicts as JSON lines, str and bytes as they are."""

    def write(lines: list[object], name: str = "train.jsonl") -> Path:
        path = tmp_path / name
        with path.open("wb") as handle:
            for line in lines:
                if isinstance(line, bytes):
                    handle.write(line + b"\n")
                elif isinstance(line, str):
                    handle.write(line.encode("utf-8") + b"\n")
                else:
                    handle.write(json.dumps(line).encode("utf-8") + b"\n")
        return path

    return write


@pytest.fixture
def errors_of(write_jsonl: Callable[..., Path]) -> Callable[..., list[str]]:
    """The error lines a user sees for a file of ten valid examples plus ``broken`` at ``at``."""

    def validate(broken: object, at: int = 4, model: str = "gpt-4o-mini") -> list[str]:
        lines: list[object] = [VALID_EXAMPLE] * 10
        lines.insert(at - 1, broken)
        report = validate_jsonl(write_jsonl(lines), model, prices=None)
        return [str(error) for error in report.errors]

    return validate
