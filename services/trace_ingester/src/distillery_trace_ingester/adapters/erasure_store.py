"""Erasing one caller from the trace-ingester's tables. ``published`` remembers which
generations were sent (so none is read from Langfuse twice); for the erased caller it keeps
the observation and trace ids without the session id, until its retention
(DISTILLERY_INGESTER_RETENTION_DAYS). The fake is in ``adapters/fakes.py``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from distillery_contracts.privacy import StoreErasure
from distillery_runtime.erasure import StatementErasureStore, matches_sql

_FORGET_SESSION = text(f"""
    with forgotten as (
        update published set session_id = null
        where session_id is not null and {matches_sql()}
        returning 1
    )
    select count(*) from forgotten
""")

NOTE = ("observation and trace ids stay, without the session, so the ingester never reads the call from "
        "Langfuse again; they go after DISTILLERY_INGESTER_RETENTION_DAYS")


class SqlErasureStore(StatementErasureStore):
    """Removes the caller's session id from the record of published generations."""

    def __init__(self, conn: Any) -> None:
        super().__init__(conn, _FORGET_SESSION, erasures)


def erasures(changed: int) -> list[StoreErasure]:
    """The report, the same from the SQL store and the fake."""
    return [StoreErasure(store="trace-ingester.published", removed=changed, note=NOTE)]
