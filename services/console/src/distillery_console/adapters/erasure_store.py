"""Erasing one caller from the console's read model: the evaluation items of their traces
(prompts and answers), the examples of their session or trace, and the dead letters whose
message names them. The fake is in ``adapters/fakes.py``.

An evaluation item carries a trace id but no session id: erasing a session reaches the items
of the traces the console saw that session's examples for (in the same statement, before they
go); any other item of that session goes with DISTILLERY_CONSOLE_ITEM_RETENTION_DAYS.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from distillery_contracts.privacy import StoreErasure
from distillery_runtime.erasure import StatementErasureStore, matches_sql

_ERASE = text(f"""
    with traces as (
        select cast(:trace_id as text) as trace_id where cast(:trace_id as text) is not null
        union select trace_id from examples where session_id = cast(:session_id as text)
    ), items as (
        delete from eval_items i using traces where i.trace_id = traces.trace_id
        returning 1
    ), examples_gone as (
        delete from examples where {matches_sql()}
        returning 1
    ), letters as (
        delete from dead_letters
        where {matches_sql()}
           or original_key = coalesce(cast(:session_id as text), cast(:trace_id as text))
        returning 1
    )
    select (select count(*) from items), (select count(*) from examples_gone), (select count(*) from letters)
""")

ITEMS_NOTE = ("items carry a trace id, not a session id: a session's items go with the traces the console "
              "saw its examples for, any other with DISTILLERY_CONSOLE_ITEM_RETENTION_DAYS")


class SqlErasureStore(StatementErasureStore):
    """Deletes the caller's rows from the three tables that can hold their words, in one statement."""

    def __init__(self, conn: Any) -> None:
        super().__init__(conn, _ERASE, erasures)


def erasures(items: int, examples: int, letters: int) -> list[StoreErasure]:
    """The report, the same from the SQL store and the fake."""
    return [StoreErasure(store="console.eval_items", removed=items, note=ITEMS_NOTE),
            StoreErasure(store="console.examples", removed=examples),
            StoreErasure(store="console.dead_letters", removed=letters)]
