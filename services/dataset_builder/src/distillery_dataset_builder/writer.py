"""Writing one split: read the chosen lines in chunks, validate each, write the valid ones.

Lines are written in example-id order (ids are content hashes, so the order mixes calls
and intents and never depends on storage). The file is hashed while it is written and
fsynced when closed. Validation, the CPU-heavy part, runs in a worker thread one chunk at
a time, so the service's consumers and health checks keep running during a build;
the next chunk is fetched from the database meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from distillery_dataset_builder.adapters.example_store import AbstractExampleStore
from distillery_dataset_builder.domain.manifest import FILE_NAMES, WrittenSplit
from distillery_dataset_builder.domain.selection import Candidate
from distillery_dataset_builder.domain.validation import ModelLimits, check_example
from distillery_runtime.faults import crash_point

CHUNK = 1_000


class ExampleMissing(RuntimeError):
    """A chosen example has no stored line (the store changed under the build)."""


class SplitWriter:
    """Validates lines and appends the valid ones to one JSONL file, hashing as it goes."""

    def __init__(self, path: Path, limits: ModelLimits) -> None:
        self.path = path
        self._limits = limits
        self._file = path.open("wb")
        self._sha = hashlib.sha256()
        self.size = 0
        self.kept: list[str] = []
        self.tokens: list[int] = []
        self.invalid: Counter[str] = Counter()
        self.invalid_examples = 0

    def write_chunk(self, chosen: Sequence[Candidate], lines: Mapping[str, str]) -> None:
        for candidate in chosen:
            example_id = candidate.example_id
            line = lines.get(example_id)
            if line is None:
                raise ExampleMissing(f"example {example_id} was chosen but has no stored line")
            check = check_example(json.loads(line), self._limits, tokens=candidate.tokens)
            if check.issues:
                self.invalid_examples += 1
                self.invalid.update({issue.code for issue in check.issues})
                continue
            data = line.encode("utf-8") + b"\n"
            self._file.write(data)
            self._sha.update(data)
            self.size += len(data)
            self.kept.append(example_id)
            self.tokens.append(check.tokens or 0)

    def close(self) -> str:
        """Flush, fsync and close the file; returns its sha256."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return self._sha.hexdigest()

    def abandon(self) -> None:
        self._file.close()


async def write_split(store: AbstractExampleStore, name: str, chosen: Sequence[Candidate], folder: Path,
                      limits: ModelLimits) -> WrittenSplit:
    """Write ``chosen`` as ``folder/<name>.jsonl``, valid examples only."""
    ordered = sorted(chosen, key=lambda c: c.example_id)
    writer = SplitWriter(folder / FILE_NAMES[name], limits)
    chunks = [ordered[i:i + CHUNK] for i in range(0, len(ordered), CHUNK)]
    upcoming: asyncio.Future[dict[str, str]] | None = None
    try:
        for number, chunk in enumerate(chunks):
            lines = await (upcoming if upcoming is not None else store.lines([c.example_id for c in chunk]))
            following = chunks[number + 1] if number + 1 < len(chunks) else None
            upcoming = asyncio.ensure_future(store.lines([c.example_id for c in following])) if following else None
            await asyncio.to_thread(writer.write_chunk, chunk, lines)
            crash_point(f"dataset_{name}_chunk_written")
        sha = writer.close()
    except BaseException:
        if upcoming is not None:
            upcoming.cancel()
        writer.abandon()
        raise
    by_id = {c.example_id: c for c in chosen}
    kept = [by_id[i] for i in writer.kept]
    return WrittenSplit(
        name=name, sha256=sha, size_bytes=writer.size, example_ids=writer.kept, tokens=writer.tokens,
        sessions=len({c.session_key for c in kept}),
        strata=dict(sorted(Counter(c.stratum for c in kept).items())),
        invalid=dict(sorted(writer.invalid.items())), invalid_examples=writer.invalid_examples,
    )
