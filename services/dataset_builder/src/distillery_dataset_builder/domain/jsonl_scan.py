"""Reading a JSONL training file line by line, keeping what validation needs to report.

Scanning stays on one core: the tokenizer holds the GIL, worker processes measured no
faster on the shared two-core machines this runs on (and are unsafe to fork from a
service with running threads), and a 100,000-example file already scans in ~20 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillery_runtime.text import UnsafeInput, parse_json_line

from distillery_dataset_builder.domain.example_rules import check_example
from distillery_dataset_builder.domain.issues import LineError
from distillery_dataset_builder.domain.limits import ModelLimits

_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass
class ScanResult:
    """What scanning some lines found."""

    max_errors: int
    errors: list[LineError] = field(default_factory=list)
    error_count: int = 0
    examples: int = 0
    invalid_examples: int = 0
    token_counts: list[int] = field(default_factory=list)

    def report(self, error: LineError) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(error)


def scan_file(path: Path, limits: ModelLimits, max_errors: int) -> ScanResult:
    """Check every line of ``path``, reading one line at a time."""
    result = ScanResult(max_errors)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            _scan_line(number, raw, limits, result)
    return result


def _scan_line(number: int, raw: bytes, limits: ModelLimits, result: ScanResult) -> None:
    text = raw.rstrip(b"\r\n")
    if not text.strip():
        result.report(LineError(number, "blank_line", "blank line; every line must hold one JSON example"))
        return
    result.examples += 1
    example = _parse(number, text, result)
    if example is _UNPARSED:
        result.invalid_examples += 1
        return
    check = check_example(example, limits)
    if check.tokens is not None:
        result.token_counts.append(check.tokens)
    if check.issues:
        result.invalid_examples += 1
    for issue in check.issues:
        result.report(LineError(number, issue.code, issue.message))


_UNPARSED: Any = object()


def _parse(number: int, text: bytes, result: ScanResult) -> Any:
    if number == 1 and text.startswith(_UTF8_BOM):
        result.report(
            LineError(
                number, "byte_order_mark", "file starts with a UTF-8 byte-order mark; save it without one"
            )
        )
        text = text[len(_UTF8_BOM) :]
    try:
        parsed = parse_json_line(text, max_bytes=None)  # the token limit bounds a line's size
    except UnsafeInput as exc:
        result.report(LineError(number, exc.code, exc.reason))
        return _UNPARSED
    if parsed is None:
        result.report(LineError(number, "blank_line", "blank line; every line must hold one JSON example"))
        return _UNPARSED
    if parsed.refused:
        # Refused, not repaired: a training file is someone's deliberate output (see runtime.text).
        result.report(LineError(number, "unsafe_text", parsed.refused))
        return _UNPARSED
    return parsed.value
