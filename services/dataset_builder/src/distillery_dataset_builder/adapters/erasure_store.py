"""Erasing one caller from the dataset-builder's tables.

The caller's accepted examples (their training lines) are deleted, so no dataset built from
now on can hold them, and they leave any build in progress (its ``dataset_examples`` rows,
read when its files are written). Published datasets keep their files: one may already be
training, and a provider holds its own copy; the report names them so the operator can
retire them. The fake is in ``adapters/fakes.py``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from distillery_contracts.privacy import StoreErasure
from distillery_runtime.erasure import AbstractErasureStore, Caller, matches_sql

_ERASE_FROM_BUILDS = text(f"""
    delete from dataset_examples de using datasets d, examples e
    where de.dataset_id = d.dataset_id and d.status = 'building' and de.example_id = e.example_id
      and {matches_sql("e.session_id", "e.trace_id")}
""")
_PUBLISHED_WITH = text(f"""
    select distinct d.dataset_id from dataset_examples de join datasets d using (dataset_id)
    join examples e using (example_id)
    where d.status = 'published' and {matches_sql("e.session_id", "e.trace_id")}
    order by 1
""")
_ERASE_EXAMPLES = text(f"delete from examples where {matches_sql()}")


class SqlErasureStore(AbstractErasureStore):
    """Deletes the caller's examples and their places in unpublished builds."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def erase(self, caller: Caller) -> list[StoreErasure]:
        ids = caller.params
        published = [row[0] for row in await self._conn.execute(_PUBLISHED_WITH, ids)]
        in_builds = (await self._conn.execute(_ERASE_FROM_BUILDS, ids)).rowcount
        removed = (await self._conn.execute(_ERASE_EXAMPLES, ids)).rowcount
        return erasures(removed, in_builds, published)


def erasures(removed: int, in_builds: int, published: list[str]) -> list[StoreErasure]:
    """The report, the same from the SQL store and the fake."""
    note = (f"published datasets holding the caller keep their files: {', '.join(published)}; retire them "
            "if not yet trained (providers hold their own copies)") if published else None
    return [StoreErasure(store="dataset-builder.examples", removed=removed),
            StoreErasure(store="dataset-builder.unpublished-builds", removed=in_builds, note=note)]
