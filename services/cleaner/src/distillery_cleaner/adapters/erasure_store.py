"""Erasing one caller from the cleaner's tables: the dedup index's rows of their accepted
examples (ids, content hashes, MinHash signatures), those rows' LSH band keys, and the late
scores (comments may quote the caller) of those generations. The fake is in
``adapters/fakes.py``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from distillery_contracts.privacy import StoreErasure
from distillery_runtime.erasure import StatementErasureStore, matches_sql

_ERASE = text(f"""
    with gone as (
        delete from examples where {matches_sql()}
        returning scope_id, rank, project_id, observation_id
    ), bands as (
        delete from example_bands b using gone where b.scope_id = gone.scope_id and b.rank = gone.rank
        returning 1
    ), scores as (
        delete from late_scores l using gone
        where l.project_id = gone.project_id and l.observation_id = gone.observation_id
        returning 1
    )
    select (select count(*) from gone), (select count(*) from bands), (select count(*) from scores)
""")

SCORES_NOTE = ("late scores of generations the cleaner rejected carry no session or trace id here; "
               "they go with their retention (DISTILLERY_CLEANER_LATE_SCORE_RETENTION_DAYS)")


class SqlErasureStore(StatementErasureStore):
    """Deletes the caller's index rows, their band keys and their late scores in one statement."""

    def __init__(self, conn: Any) -> None:
        super().__init__(conn, _ERASE, erasures)


def erasures(examples: int, bands: int, scores: int) -> list[StoreErasure]:
    """The report, the same from the SQL store and the fake."""
    return [StoreErasure(store="cleaner.examples", removed=examples),
            StoreErasure(store="cleaner.example_bands", removed=bands),
            StoreErasure(store="cleaner.late_scores", removed=scores, note=SCORES_NOTE)]
