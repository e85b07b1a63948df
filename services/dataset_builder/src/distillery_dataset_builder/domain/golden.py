"""Reading a golden set: JSONL of ``{"id", "messages": [...], "reference"?: "..."}``.

The evaluator writes and reads the same file. Only the text matters here: the user and
assistant messages, plus the reference answer when there is one (a training example
that repeats both the prompt and the expected answer is the leak to catch).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from distillery_dataset_builder.domain.sketch import conversation_text


class GoldenSetError(ValueError):
    """The golden-set file cannot be used; the message names the line."""


@dataclass(frozen=True)
class GoldenSet:
    """The texts of a golden set and the digest of the file they came from."""

    ids: list[str]
    texts: list[str]
    sha256: str


def read_golden_set(lines: Iterable[bytes]) -> GoldenSet:
    """Parse the file's lines; blank lines are skipped, anything else malformed is an error."""
    ids, texts, digest = [], [], hashlib.sha256()
    for number, raw in enumerate(lines, start=1):
        digest.update(raw)
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GoldenSetError(f"golden set line {number}: not valid JSON ({exc})") from None
        ids.append(_id_of(item, number))
        texts.append(_text_of(item, number))
    return GoldenSet(ids=ids, texts=texts, sha256=digest.hexdigest())


def _id_of(item: object, number: int) -> str:
    if not isinstance(item, dict) or not isinstance(item.get("messages"), list):
        raise GoldenSetError(f'golden set line {number}: expected an object with a "messages" list')
    return str(item.get("id", f"line-{number}"))


def _text_of(item: dict, number: int) -> str:
    messages = [m for m in item["messages"] if isinstance(m, dict)]
    if len(messages) != len(item["messages"]):
        raise GoldenSetError(f"golden set line {number}: every message must be an object")
    reference = item.get("reference")
    if isinstance(reference, str) and reference.strip():
        messages = [*messages, {"role": "assistant", "content": reference}]
    return conversation_text(messages)
