"""Helpers of the trainer's unit tests (this folder is on sys.path, see conftest.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta


GOOD_LINE = {"messages": [{"role": "system", "content": "You are the clinic's receptionist."},
                          {"role": "user", "content": "How much is a cleaning?"},
                          {"role": "assistant", "content": "A cleaning is $120."}]}


def jsonl(*records: object) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


class StillHeld:
    """A lock that stays held (the real one checks its connection)."""

    def __init__(self) -> None:
        self.lost = False

    async def check(self) -> None:
        if self.lost:
            from distillery_runtime.locks import LockLost

            raise LockLost("gone")
