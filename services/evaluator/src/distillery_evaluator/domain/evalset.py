"""Evaluation sets: prompts with their ground truth, versioned by content.

A golden set line is ``{"id", "messages": [...], "facts": [...], "reference": "..."}``:
the prompt in OpenAI chat format, the facts an answer must not contradict (strings, or
objects with a ``text``), and an optional reference answer. The validation split of a
dataset is read from its chat fine-tuning JSONL: each example's last trained assistant
turn becomes the reference and the turns before it the prompt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

GOLDEN = "golden"
VALIDATION = "validation"


class EvalSetError(ValueError):
    """An evaluation set that cannot be read; the message names the line and the problem."""


@dataclass(frozen=True)
class EvalItem:
    """One prompt of an evaluation set.

    ``facts`` given: they are the ground truth, and the system prompt is not (it holds
    every fact of the domain, so a price of the wrong service would pass). No facts:
    the conversation (system prompt included) and ``reference`` are the ground truth.
    """

    item_id: str
    set_name: str
    messages: list[dict[str, Any]]
    facts: list[str] = field(default_factory=list)
    reference: str | None = None
    tools: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalItem:
        return cls(**data)


@dataclass(frozen=True)
class EvalSet:
    """A named set of items and the version that identifies its content."""

    name: str
    version: str
    items: tuple[EvalItem, ...]

    @classmethod
    def of(cls, name: str, items: Iterable[EvalItem], version: str | None = None) -> EvalSet:
        items = tuple(items)
        return cls(name=name, version=version or content_version(name, items), items=items)

    def __len__(self) -> int:
        return len(self.items)


def content_version(name: str, items: Sequence[EvalItem]) -> str:
    """A short hash of the items' content: the same prompts and facts give the same version,
    in whatever order they are listed."""
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.item_id):
        digest.update(json.dumps(item.to_json(), sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return f"{name}-{digest.hexdigest()[:12]}"


def golden_line(item: EvalItem) -> str:
    """One line of the golden set file format."""
    line: dict[str, Any] = {"id": item.item_id, "messages": item.messages, "facts": item.facts}
    if item.reference is not None:
        line["reference"] = item.reference
    if item.tools:
        line["tools"] = item.tools
    return json.dumps(line, ensure_ascii=False)


def parse_golden_lines(lines: Iterable[str], source: str = "golden set") -> list[EvalItem]:
    """Read golden set JSONL; raises EvalSetError naming the first bad line."""
    items, seen = [], set()
    for number, _, data in _json_lines(lines, source):
        item = _golden_item(data, f"{source} line {number}")
        if item.item_id in seen:
            raise EvalSetError(f"{source} line {number}: duplicate id {item.item_id!r}")
        seen.add(item.item_id)
        items.append(item)
    if not items:
        raise EvalSetError(f"{source} has no items")
    return items


def _json_lines(lines: Iterable[str], source: str) -> Iterator[tuple[int, str, Any]]:
    """(line number, line, decoded value) of each non-blank line; EvalSetError at the first
    line that is not JSON."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{source} line {number}: not valid JSON ({exc.msg})") from None
        yield number, line, data


def golden_item(data: Any, where: str) -> EvalItem:
    """One golden item from a decoded JSON object (a file line or a Langfuse dataset item)."""
    return _golden_item(data, where)


def _golden_item(data: Any, where: str) -> EvalItem:
    if not isinstance(data, dict):
        raise EvalSetError(f"{where}: expected an object with id, messages and facts")
    item_id = data.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise EvalSetError(f"{where}: 'id' must be a non-empty string")
    messages = _messages(data.get("messages"), where)
    facts = data.get("facts", [])
    if not isinstance(facts, list):
        raise EvalSetError(f"{where}: 'facts' must be a list")
    texts = [_fact_text(fact, where) for fact in facts]
    reference = data.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise EvalSetError(f"{where}: 'reference' must be a string")
    if not texts and not reference:
        raise EvalSetError(f"{where}: needs 'facts' or a 'reference' to check answers against")
    tools = data.get("tools")
    return EvalItem(item_id, GOLDEN, messages, texts, reference, tools or None)


def _fact_text(fact: Any, where: str) -> str:
    if isinstance(fact, str) and fact.strip():
        return fact
    if isinstance(fact, dict) and isinstance(fact.get("text"), str) and fact["text"].strip():
        return fact["text"]
    raise EvalSetError(f"{where}: each fact must be a non-empty string or an object with 'text'")


def _messages(messages: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise EvalSetError(f"{where}: 'messages' must be a non-empty list of chat messages")
    for position, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or message.get("role") not in (
            "system", "developer", "user", "assistant", "tool"
        ):
            raise EvalSetError(f"{where}: message {position} needs a role of system, user, "
                               "assistant or tool")
    if messages[-1]["role"] not in ("user", "tool"):
        raise EvalSetError(f"{where}: the last message must be the user's (or a tool result) "
                           "for a model to answer")
    return messages


def validation_items(lines: Iterable[str], limit: int | None = None) -> list[EvalItem]:
    """Items from a chat fine-tuning JSONL file (the dataset's validation split).

    Each example gives one item: the prompt up to its last trained assistant turn, that
    turn's text as the reference. Examples whose last trained turn is not text (a tool
    call) are kept with the call rendered as text. ``limit`` keeps a deterministic
    subset (lowest content hashes), so reruns use the same items.
    """
    items = []
    for _, line, example in _json_lines(lines, "validation file"):
        item = _validation_item(example, line)
        if item is not None:
            items.append(item)
    items = list({item.item_id: item for item in reversed(items)}.values())  # one per content
    items.sort(key=lambda item: item.item_id)
    return items[:limit] if limit is not None else items


def _validation_item(example: Any, line: str) -> EvalItem | None:
    messages = example.get("messages") if isinstance(example, dict) else None
    if not isinstance(messages, list):
        return None
    trained = [i for i, m in enumerate(messages)
               if isinstance(m, dict) and m.get("role") == "assistant" and m.get("weight", 1) == 1]
    if not trained or not any(m.get("role") == "user" for m in messages[: trained[-1]]):
        return None
    last = trained[-1]
    prompt = [{k: v for k, v in m.items() if k != "weight"} for m in messages[:last]]
    item_id = "val-" + hashlib.sha256(line.strip().encode()).hexdigest()[:16]
    return EvalItem(item_id, VALIDATION, prompt, [], message_text(messages[last]),
                    example.get("tools") or None)


def message_text(message: dict[str, Any]) -> str:
    """A message's text; tool calls rendered as ``name(arguments)`` so they can be compared."""
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    parts = [content] if content else []
    for call in message.get("tool_calls") or []:
        function = call.get("function", {})
        parts.append(f"{function.get('name', '')}({function.get('arguments', '')})")
    return "\n".join(parts)
