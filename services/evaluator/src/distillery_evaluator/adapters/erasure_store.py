"""Erasing one caller from the evaluator's tables: the sampled live calls (``online_queue``
holds the whole TraceCaptured, the caller's words) and their scores (``online_scores``, with
the teacher's answer to those words). The fake is in ``adapters/fakes.py``.

Offline runs' items, answers and scores are not erased: they come from golden sets and from the
validation files of published datasets, whose lines are messages (and tools) only, with no
session, trace or example id, and an item's id is a hash of its line. Nothing ties them to a
caller, so they are bounded instead: ``forget_old_run_details`` deletes them
``run_item_retention_days`` after their run finished.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from distillery_contracts.privacy import StoreErasure
from distillery_runtime.erasure import AbstractErasureStore, Caller


def _match(column: str) -> str:
    return (f"((cast(:session_id as text) is not null and {column}->>'session_id' = :session_id) "
            f"or {column}->>'trace_id' = :trace_id)")


_ERASE_SCORES = text(f"""
    delete from online_scores where {_match('scored')}
       or observation_id in (select observation_id from online_queue where {_match('trace')})
""")
_ERASE_CALLS = text(f"delete from online_queue where {_match('trace')}")

OFFLINE_NOTE = ("offline runs' prompts and answers are not matched (golden sets and published validation "
                "files carry no session or trace id); they go DISTILLERY_EVALUATOR_RUN_ITEM_RETENTION_DAYS "
                "after the run finished")


class SqlErasureStore(AbstractErasureStore):
    """Deletes the caller's sampled live calls and their scores."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def erase(self, caller: Caller) -> list[StoreErasure]:
        ids = {"session_id": caller.session_id, "trace_id": caller.trace_id}
        scores = (await self._conn.execute(_ERASE_SCORES, ids)).rowcount
        calls = (await self._conn.execute(_ERASE_CALLS, ids)).rowcount
        return erasures(calls, scores)


def erasures(calls: int, scores: int) -> list[StoreErasure]:
    """The report, the same from the SQL store and the fake."""
    return [StoreErasure(store="evaluator.online_queue", removed=calls),
            StoreErasure(store="evaluator.online_scores", removed=scores, note=OFFLINE_NOTE)]
