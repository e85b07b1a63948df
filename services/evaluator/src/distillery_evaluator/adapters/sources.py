"""Where evaluation sets come from: golden set files, Langfuse datasets, and the
dataset-builder's validation files (``file://`` URIs)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from distillery_evaluator.domain.evalset import (
    GOLDEN,
    EvalSet,
    EvalSetError,
    golden_item,
    parse_golden_lines,
)
from distillery_runtime.blobstore import AbstractBlobStore

GoldenLoader = Callable[[], Awaitable[EvalSet | None]]
LineReader = Callable[[str], Awaitable[list[str]]]


def path_of(uri: str) -> Path:
    """The local path of a ``file://`` URI or a plain path; other schemes are refused."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path if parsed.scheme else uri))
    raise EvalSetError(f"cannot read {uri}: only file:// URIs are supported by the evaluator")


async def read_lines(uri: str) -> list[str]:
    """Lines of a text file named by URI."""
    path = path_of(uri)
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except FileNotFoundError:
        raise EvalSetError(f"evaluation file not found: {path}") from None
    return text.splitlines()


def confined(read: LineReader, datasets: AbstractBlobStore) -> LineReader:
    """``read``, for URIs inside the datasets store only: a validation URI comes from a
    DatasetBuilt event, which must not make the evaluator read (and send to models) any file."""

    async def read_confined(uri: str) -> list[str]:
        refusal = datasets.refusal(uri)
        if refusal is not None:
            raise EvalSetError(f"validation file {refusal}")
        return await read(uri)

    return read_confined


def golden_from_file(path: Path, limit: int | None = None) -> EvalSet:
    if not path.is_file():
        raise EvalSetError(f"golden set file not found: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # named by its line, like every other unreadable line
        line = data[:exc.start].count(b"\n") + 1
        raise EvalSetError(f"{path} line {line}: not UTF-8 text") from None
    items = parse_golden_lines(text.splitlines(), str(path))
    return EvalSet.of(GOLDEN, items[:limit] if limit else items)


def golden_from_langfuse(client: Any, dataset: str, limit: int | None = None) -> EvalSet:
    """A Langfuse dataset whose items have ``input`` = messages (or {"messages": ...}),
    ``expected_output`` = the reference answer and ``metadata.facts`` = the facts."""
    items = []
    for number, entry in enumerate(client.get_dataset(dataset).items, start=1):
        raw_input = entry.input
        messages = raw_input.get("messages") if isinstance(raw_input, dict) else raw_input
        metadata = entry.metadata if isinstance(entry.metadata, dict) else {}
        expected = entry.expected_output
        reference = expected if isinstance(expected, str) else (
            expected.get("content") if isinstance(expected, dict) else None)
        data = {"id": entry.id, "messages": messages, "facts": metadata.get("facts", []),
                "reference": reference}
        items.append(golden_item(data, f"Langfuse dataset {dataset!r} item {number}"))
    if not items:
        raise EvalSetError(f"Langfuse dataset {dataset!r} has no items")
    return EvalSet.of(GOLDEN, items[:limit] if limit else items)


def golden_loader(source: str, *, path: Path | None = None, dataset: str | None = None,
                  limit: int | None = None, langfuse_client: Callable[[], Any] | None = None,
                  ) -> GoldenLoader:
    """A loader for the configured source; it runs in a thread (files, SDK calls are blocking)."""

    async def load() -> EvalSet | None:
        if source == "none":
            return None
        if source == "file":
            assert path is not None
            return await asyncio.to_thread(golden_from_file, path, limit)
        if source == "langfuse":
            assert dataset is not None and langfuse_client is not None
            return await asyncio.to_thread(golden_from_langfuse, langfuse_client(), dataset, limit)
        raise EvalSetError(f"unknown golden set source {source!r}: use file, langfuse or none")

    return load
