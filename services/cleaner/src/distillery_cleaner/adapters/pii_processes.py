"""Personal-data detection in processes of its own, so a cleaner uses more than one core.

Named-entity detection is most of a cleaner's CPU with NER on, and spaCy's and Presidio's
Python hold the interpreter lock: in one process the cleaner uses about one core however many
the machine has. :class:`PiiProcesses` runs :meth:`PiiRedactor.find_many` (the model and every
recogniser, allow list applied) in ``processes`` worker processes, each with its own copy of
the same pipeline, and splits a batch of new texts between them. What comes back are the spans
to replace (:class:`Found`), which the service's own redactor turns into placeholders and
caches exactly as when it finds them itself (``tests/integration/test_cleaner_pii_processes.py``
compares the two).

Workers are spawned, not forked (the service has threads by then), and import only what the
cleaner's package depends on, as the service does. A worker that dies (killed, out of memory)
breaks the pool: the batch it was working on is analysed in the service's own process instead,
with a warning, and a new pool starts with the next batch (after a backoff when they keep dying).
A worker whose service has died exits by itself.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from distillery_cleaner.adapters import pii_worker
from distillery_cleaner.domain.config import PiiConfig
from distillery_cleaner.domain.pii import Found, PiiRedactor
from distillery_cleaner.metrics import PII_PROCESS_DEATHS, PII_PROCESSES
from distillery_runtime.logs import get_logger

log = get_logger(__name__)

MIN_CHUNK = 16
"""Fewer texts than this per worker are not worth a second process's round trip."""


def chunks(texts: list[str], parts: int, smallest: int = MIN_CHUNK) -> list[list[str]]:
    """``texts`` in at most ``parts`` contiguous runs of near-equal length, none under ``smallest``
    (unless there is only one)."""
    count = max(1, min(parts, len(texts) // smallest))
    size, extra = divmod(len(texts), count)
    runs, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        runs.append(texts[start:end])
        start = end
    return runs


class PiiProcesses:
    """:meth:`PiiRedactor.find_many` across worker processes (see the module's docstring).

    ``fallback`` finds in this process while there are no workers: the service's own redactor.
    Workers that die again and again (each start runs out of memory, say) are restarted after
    ``backoff_s``, doubling up to ``max_backoff_s``, so that the service does not spawn a new pool
    for every batch; until then it finds in its own process. Blocking: the service calls it from
    the thread it primes its caches in.
    """

    def __init__(self, config: PiiConfig, processes: int, fallback: PiiRedactor, *,
                 backoff_s: float = 5.0, max_backoff_s: float = 300.0) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes}")
        self.config = config
        self.processes = processes
        self.fallback = fallback
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.restarts = 0
        self._deaths_in_a_row = 0
        self._restart_at = 0.0
        self._closed = False
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = self._new_pool()

    @classmethod
    def serving(cls, redactor: PiiRedactor, config: PiiConfig, processes: int) -> PiiProcesses:
        """Workers that ``redactor`` finds each batch's new texts with from now on (itself, if they die)."""
        pool = cls(config, processes, fallback=redactor)
        redactor.find_new = pool.find_many
        return pool

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.processes, mp_context=get_context("spawn"),
                                   initializer=pii_worker.start,
                                   initargs=(self.config.model_dump_json(), os.getpid()))

    def start(self, timeout_s: float = 300.0) -> list[int]:
        """Start every worker and wait until each has loaded its pipeline; their process ids."""
        pool = self._current(warm=False)
        return self._warm(pool, timeout_s) if pool is not None else []

    def _warm(self, pool: ProcessPoolExecutor, timeout_s: float = 300.0) -> list[int]:
        pids: set[int] = set()
        deadline = time.monotonic() + timeout_s
        try:
            while len(pids) < self.processes and time.monotonic() < deadline:
                # A ready worker answers at once; a round waits for its slowest task, so the workers
                # still loading get theirs too once they are ready.
                pids |= {f.result() for f in [pool.submit(pii_worker.pid_after, 0.05) for _ in range(self.processes)]}
        except (BrokenProcessPool, CancelledError, RuntimeError):  # died while starting, or stopping
            return sorted(pids)
        PII_PROCESSES.set(len(pids))
        return sorted(pids)

    def _current(self, warm: bool = True) -> ProcessPoolExecutor | None:
        """The pool to use: None while stopped or backing off; a new one (warmed up aside) once a
        broken one's backoff is over."""
        with self._lock:
            if self._closed:
                return None
            if self._pool is None and time.monotonic() >= self._restart_at:
                self.restarts += 1
                self._pool = self._new_pool()
                if warm:
                    threading.Thread(target=self._warm, args=(self._pool,), name="pii-processes-start",
                                     daemon=True).start()
            return self._pool

    def find_many(self, texts: list[str]) -> list[list[Found]]:
        """:meth:`PiiRedactor.find_many` of ``texts``, their runs analysed in parallel."""
        if not texts:
            return []
        pool = self._current()
        if pool is None:  # stopping, or the workers keep dying: found here meanwhile
            return self.fallback.find_many(texts)
        try:
            futures = [pool.submit(pii_worker.find_many, run) for run in chunks(texts, self.processes)]
            answers = [future.result() for future in futures]
        except BrokenProcessPool as error:
            self._broken(pool, error, len(texts))
        except (CancelledError, RuntimeError):  # stopped meanwhile: its tasks cancelled, or none taken
            if not self._closed:
                raise
        else:
            self._deaths_in_a_row = 0
            self.fallback.count_sentences(sum(known for _, known, _ in answers), sum(read for _, _, read in answers))
            return [found for run, _, _ in answers for found in run]
        return self.fallback.find_many(texts)

    def _broken(self, broken: ProcessPoolExecutor, error: BrokenProcessPool, texts: int) -> None:
        """Drop a broken pool (once, however many threads saw it break); the next one starts at
        once after a first death, later after each further death in a row."""
        with self._lock:
            if self._pool is not broken or self._closed:
                return
            PII_PROCESSES.set(0)
            PII_PROCESS_DEATHS.inc()
            self._deaths_in_a_row += 1
            wait = 0.0 if self._deaths_in_a_row == 1 else min(
                self.max_backoff_s, self.backoff_s * 2 ** (self._deaths_in_a_row - 2))
            self._restart_at = time.monotonic() + wait
            self._pool = None
        log.warning("a personal-data worker process died; this batch is analysed in the service's process "
                    "and new workers start", error=str(error), texts=texts, deaths_in_a_row=self._deaths_in_a_row,
                    restart_in_s=wait)
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (the texts in flight are finished first)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            PII_PROCESSES.set(0)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
