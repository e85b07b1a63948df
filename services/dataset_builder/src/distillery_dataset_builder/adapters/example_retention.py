"""Bounded retention of the example store: an accepted example holds a caller's (redacted)
words, and builds draw from the newest, so examples older than the retention go, in bounded
batches, oldest first, except those a build in progress has taken. The fake is in
``adapters/fakes.py``."""

from __future__ import annotations

import abc
from datetime import datetime
from typing import Any

from sqlalchemy import text

_FORGET = text("""
    with old as (
        select e.example_id from examples e
        where e.stored_at < :before
          and not exists (select 1 from dataset_examples de join datasets d using (dataset_id)
                          where de.example_id = e.example_id and d.status = 'building')
        order by e.seq
        limit :limit
        for update of e skip locked
    )
    delete from examples where example_id in (select example_id from old)
""")


class AbstractExampleRetention(abc.ABC):
    """Deletes examples past their retention."""

    @abc.abstractmethod
    async def forget_examples(self, stored_before: datetime, limit: int) -> int:
        """Delete at most ``limit`` examples stored before ``stored_before`` that no build in
        progress holds, oldest first; returns how many."""


class SqlExampleRetention(AbstractExampleRetention):
    """On the examples table, along its ``seq`` index (stored order)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def forget_examples(self, stored_before: datetime, limit: int) -> int:
        return (await self._conn.execute(_FORGET, {"before": stored_before, "limit": limit})).rowcount
