"""The dataset-builder's OpenAI chat JSONL, read as it is, with one line-numbered error per bad line."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from distillery_students.domain.chat_template import Rendered, TemplateError, render

MAX_REPORTED = 5


@dataclass(frozen=True)
class ChatExample:
    line: int
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    rendered: Rendered


class DatasetError(ValueError):
    """Lines the trainer cannot learn from; ``str()`` is one line naming the first of them."""

    def __init__(self, source: str, problems: list[tuple[int, str]], total_lines: int) -> None:
        self.source = source
        self.problems = problems
        line, reason = problems[0]
        more = f" (and {len(problems) - 1} more bad line{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        super().__init__(f"{source} line {line}: {reason}{more}")
        self.total_lines = total_lines

    def details(self) -> list[str]:
        return [f"{self.source} line {line}: {reason}" for line, reason in self.problems[:MAX_REPORTED]]


def read_examples(lines: Iterable[str], source: str = "dataset") -> list[ChatExample]:
    """Every example of a JSONL text; raises :class:`DatasetError` if any line is unusable."""
    examples: list[ChatExample] = []
    problems: list[tuple[int, str]] = []
    number = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            examples.append(parse_line(line, number))
        except ValueError as exc:
            problems.append((number, str(exc)))
    if problems:
        raise DatasetError(source, problems, number)
    if not examples:
        raise DatasetError(source, [(max(number, 1), "the file holds no examples")], number)
    return examples


def parse_line(line: str, number: int) -> ChatExample:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    messages, tools = record.get("messages"), record.get("tools")
    try:
        rendered = render(messages, tools)
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
    if not rendered.loss_spans:
        raise ValueError("no assistant message to learn from (none, or all with weight 0)")
    return ChatExample(number, record["messages"], tools, rendered)
