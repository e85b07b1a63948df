"""What runs inside a personal-data worker process (see ``pii_processes``).

A spawned worker imports this module, by name, before it runs anything of its own, so nothing
here imports spaCy or Presidio at the top: :func:`start` first hides what the cleaner's
package does not depend on (PyTorch, which thinc and Presidio would import when they find it),
then loads the pipeline.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distillery_cleaner.domain.pii import Found, PiiRedactor

_redactor: PiiRedactor | None = None


def start(config_json: str, parent: int) -> None:
    """The worker's start: the cleaner's imports only, its pipeline loaded, an eye on its parent."""
    from distillery_runtime.imports import hide_undeclared

    hide_undeclared("distillery-cleaner")
    from distillery_cleaner.domain.config import PiiConfig
    from distillery_cleaner.domain.pii import PiiRedactor

    global _redactor
    _redactor = PiiRedactor(PiiConfig.model_validate_json(config_json))
    _redactor.find_many(["warm up the pipeline and the recognisers", "and its batch path"])
    threading.Thread(target=_exit_with, args=(parent,), name="exit-with-parent", daemon=True).start()


def _exit_with(parent: int) -> None:
    """Exit once the service that started this worker is gone (killed, it never said stop)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def find_many(texts: list[str]) -> tuple[list[list[Found]], int, int]:
    """:meth:`PiiRedactor.find_many`, in this worker, with the sentences it knew and read."""
    assert _redactor is not None, "start() loads the redactor"
    known, read = _redactor.sentences_known, _redactor.sentences_read
    found = _redactor.find_many(texts)
    return found, _redactor.sentences_known - known, _redactor.sentences_read - read


def pid_after(seconds: float) -> int:
    """This worker's process id, after ``seconds`` (so that one worker cannot answer every call)."""
    time.sleep(seconds)
    return os.getpid()
