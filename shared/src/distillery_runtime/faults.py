"""Crash points for the tests that prove at-least-once delivery survives a kill.

Set ``DISTILLERY_CRASH_AT=<point>`` (and optionally ``DISTILLERY_CRASH_MARKER=<file>`` so
that it fires only once across restarts) and the process dies at that point with
``os._exit``: no cleanup, no offset commit, like a SIGKILL. Unset, it costs one dict lookup.
"""

from __future__ import annotations

import os
from pathlib import Path


def crash_point(name: str) -> None:
    if os.environ.get("DISTILLERY_CRASH_AT") != name:
        return
    marker = os.environ.get("DISTILLERY_CRASH_MARKER")
    if marker:
        path = Path(marker)
        if path.exists():
            return
        path.write_text(name)
    os._exit(137)
