"""Erasing one caller from the trace-ingester's tables. ``published`` remembers which
generations were sent (so none is read from Langfuse twice); for the erased caller it keeps
the observation and trace ids without the session id, until its retention
(DISTILLERY_INGESTER_RETENTION_DAYS). The fake is in ``adapters/fakes.py``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from distillery_contracts.privacy import StoreErasure
from distillery_runtime.erasure import AbstractErasureStore, Caller

_FORGET_SESSION = text("""
    update published set session_id = null
    where session_id is not null
      and ((cast(:session_id as text) is not null and session_id = :session_id) or trace_id = :trace_id)
""")

NOTE = ("observation and trace ids stay, without the session, so the ingester never reads the call from "
        "Langfuse again; they go after DISTILLERY_INGESTER_RETENTION_DAYS")


class SqlErasureStore(AbstractErasureStore):
    """Removes the caller's session id from the record of published generations."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def erase(self, caller: Caller) -> list[StoreErasure]:
        changed = (await self._conn.execute(_FORGET_SESSION, {"session_id": caller.session_id,
                                                              "trace_id": caller.trace_id})).rowcount
        return erasures(changed)


def erasures(changed: int) -> list[StoreErasure]:
    """The report, the same from the SQL store and the fake."""
    return [StoreErasure(store="trace-ingester.published", removed=changed, note=NOTE)]
