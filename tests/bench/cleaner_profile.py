"""Where a running cleaner's CPU goes: py-spy samples of every thread, summed by stage.

``bench_cleaner.py --profile`` samples the cleaner process while it cleans (start-up left
out) with py-spy, which reads the interpreter's stacks from outside: every thread is seen
(the personal-data detection runs in a worker thread, which cProfile in the main thread
never saw) at about 1% of the cleaner's CPU. Each sample is counted once, in the first
stage its stack passes through (the order below), so the shares add up to 100%.

Without named-entity detection everything the cleaner runs is Python under one interpreter
lock, so only the thread holding it is sampled (``lock_holder``): a thread waiting for the lock
looks busy to py-spy, and the personal-data thread, waiting while the event loop ran, read 24% of
the samples against the 17% it held the lock for. With the model on, its matrix products run
without the lock, so every thread is sampled.

    .venv/bin/python tests/bench/cleaner_profile.py FILE   # the table of a saved profile
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("start-up (imports, models)", ("load_entry_point", "_find_and_load")),
    ("personal data: named entities (spaCy)", ("spacy/", "thinc/", "SpacyNlpEngine.", "_LoadedSpacyEngine.")),
    ("personal data: patterns, phone numbers, rewriting", ("PiiRedactor.", "TextCleaner.prime", "pii_processes.py")),
    ("fingerprints (shingles, MinHash)", ("Fingerprinter.",)),
    ("screening (filters, messages, tokens)", ("Cleaner.screen ",)),
    ("decoding traces.raw (pydantic)", ("BatchProcessor.decode ",)),
    ("verdicts as outbox rows (serialising)", ("publish_verdicts ", "UnitOfWork.emit ", "accepted_event ",
                                               "rejected_event ")),
    ("index and late-score queries", ("_deduplicate ", "SqlCleanerRepository.")),
    ("commit (outbox rows, inbox)", ("UnitOfWork.commit ", "UnitOfWork.claim ")),
    ("outbox relay (publishing)", ("OutboxRelay.",)),
    ("the rest of a batch (runtime consumer, cleaner services)",
     ("distillery_runtime/consumer.py", "distillery_runtime/kafka.py", "distillery_cleaner/services.py",
      "distillery_cleaner/handlers.py")),
    ("broker client (aiokafka, faststream)", ("aiokafka/", "faststream/")),
    ("database driver (SQLAlchemy, asyncpg)", ("sqlalchemy/", "asyncpg/")),
)
_EVENT_LOOP = "event loop and sockets (asyncio)"
"""Where the sampled frame itself is asyncio's (every stack of the main thread passes through it)."""
_IDLE = (".select (selectors.py", "Condition.wait (threading.py", "Queue.get (queue.py",
         "_worker (concurrent/futures/thread.py")
"""Leaf frames of a thread that waits: not CPU, though py-spy may sample them."""


def start(pid: int, output: Path, rate: int = 100, lock_holder: bool = False) -> subprocess.Popen[bytes]:
    """Begin sampling ``pid`` (every thread, and its personal-data worker processes) into ``output``
    as py-spy's raw stacks; with ``lock_holder``, only the thread holding the interpreter lock."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--subprocesses", "--rate", str(rate), "--format", "raw",
                             *(["--gil"] if lock_holder else []), "--nonblocking", "--output", str(output)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(sampler: subprocess.Popen[bytes]) -> None:
    """Stop sampling; py-spy writes its file as it exits."""
    sampler.send_signal(signal.SIGINT)
    try:
        _, err = sampler.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        sampler.kill()
        raise
    if sampler.returncode not in (0, -signal.SIGINT):
        raise RuntimeError(f"py-spy failed ({sampler.returncode}): {err.decode(errors='replace')[-500:]}")


def stage_of(stack: str) -> str | None:
    """The stage a sampled stack (``frame;frame;...``, outermost first) counts for; None when idle."""
    leaf = stack.rsplit(";", 1)[-1]
    if not leaf or any(mark in leaf for mark in _IDLE):
        return None
    for stage, marks in STAGES:
        if any(mark in stack for mark in marks):
            return stage
    return _EVENT_LOOP if "(asyncio/" in leaf or "(selectors.py" in leaf else "other"


def shares(raw: str) -> tuple[Counter[str], int]:
    """Samples per stage in py-spy's raw output (one ``stack count`` a line), and their total."""
    found: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        stage = stage_of(stack)
        if stage is not None:
            found[stage] += int(count)
    return found, sum(found.values())


def table(raw: str) -> str:
    """The stages, most CPU first, as printed lines."""
    found, total = shares(raw)
    if not total:
        return "  no busy samples"
    return "\n".join(f"  {100 * n / total:5.1f}%  {stage}" for stage, n in found.most_common())


if __name__ == "__main__":
    print(table(Path(sys.argv[1]).read_text()))
