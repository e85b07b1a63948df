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
with a warning, and a new pool is started for the next one. A worker whose service has died
exits by itself.
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

    ``fallback`` finds in this process when the pool breaks: the service's own redactor.
    Blocking: the service calls it from the thread it primes its caches in.
    """

    def __init__(self, config: PiiConfig, processes: int, fallback: PiiRedactor) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, not {processes}")
        self.config = config
        self.processes = processes
        self.fallback = fallback
        self.restarts = 0
        self._closed = False
        self._lock = threading.Lock()
        self._pool = self._new_pool()

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
        with self._lock:
            pool = self._pool
        return self._warm(pool, timeout_s)

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

    def find_many(self, texts: list[str]) -> list[list[Found]]:
        """:meth:`PiiRedactor.find_many` of ``texts``, their runs analysed in parallel."""
        if not texts:
            return []
        with self._lock:
            pool = None if self._closed else self._pool
        if pool is None:  # the service is stopping: what is still screened is screened here
            return self.fallback.find_many(texts)
        try:
            futures = [pool.submit(pii_worker.find_many, run) for run in chunks(texts, self.processes)]
            return [found for future in futures for found in future.result()]
        except BrokenProcessPool as error:
            log.warning("a personal-data worker process died; this batch is analysed in the service's "
                        "process and new workers are started", error=str(error), texts=len(texts))
            self._replace(pool)
        except (CancelledError, RuntimeError):  # stopped meanwhile: its tasks cancelled, or none taken
            if not self._closed:
                raise
        return self.fallback.find_many(texts)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new pool for a broken one (once, however many threads saw it break), warmed up aside."""
        with self._lock:
            if self._pool is not broken or self._closed:
                return
            PII_PROCESSES.set(0)
            PII_PROCESS_DEATHS.inc()
            self.restarts += 1
            self._pool = pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)
        threading.Thread(target=self._warm, args=(pool,), name="pii-processes-start", daemon=True).start()

    def close(self) -> None:
        """Stop the workers (the texts in flight are finished first)."""
        with self._lock:
            self._closed = True
            pool = self._pool
            PII_PROCESSES.set(0)
        pool.shutdown(wait=True, cancel_futures=True)
