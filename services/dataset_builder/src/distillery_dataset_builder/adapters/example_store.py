"""The example store: accepted examples in, candidates and training lines out.

``SqlExampleStore`` works on a unit of work's session (or any async connection); every
method is one statement per call. The fake, for unit tests, is in ``adapters/fakes.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import asyncpg
import numpy as np
from sqlalchemy import bindparam, case, func, or_, select, text, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import NullType, Text

from distillery_contracts.examples import ExampleRejected
from distillery_dataset_builder.adapters.tables import examples, retractions
from distillery_dataset_builder.domain.records import ExampleRecord, kept_for_later
from distillery_dataset_builder.domain.selection import Candidate, stratum_of
from distillery_dataset_builder.domain.sketch import NUM_PERM, signatures_from_bytes

CleanerVersion = tuple[str, str]
"""(cleaner_version, config_hash): the examples one cleaner configuration produced."""


class AbstractExampleStore(abc.ABC):
    """Where accepted examples are kept, withdrawn and read back for builds."""

    @abc.abstractmethod
    async def add(self, records: Sequence[ExampleRecord]) -> int:
        """Store new examples (known ids are ignored); returns how many were new."""

    @abc.abstractmethod
    async def retract(self, rejections: Sequence[ExampleRejected]) -> list[str]:
        """Withdraw the stored examples the rejections name; returns their ids."""

    @abc.abstractmethod
    async def high_water_mark(self) -> int:
        """Sequence number of the last stored example (0 when empty)."""

    @abc.abstractmethod
    async def count_new(self, after_seq: int) -> int:
        """Examples stored after ``after_seq`` and not withdrawn."""

    @abc.abstractmethod
    async def newest_version(self, cleaner_version: str | None, up_to_seq: int) -> CleanerVersion | None:
        """The configuration of the newest stored example (of ``cleaner_version``, if given)."""

    @abc.abstractmethod
    async def candidates(self, version: CleanerVersion, up_to_seq: int, limit: int, stratify_by: Sequence[str],
                         encoding: str, max_tokens: int | None = None) -> tuple[list[Candidate], np.ndarray]:
        """The newest ``limit`` usable examples of ``version`` and their signatures (same order).

        Each carries its stored token count when that was made with ``encoding``; one whose count
        with ``encoding`` is over ``max_tokens`` is not usable (the next newest takes its place).
        """

    @abc.abstractmethod
    async def lines(self, example_ids: Sequence[str]) -> dict[str, str]:
        """Training lines of the given examples, by id."""


class SqlExampleStore(AbstractExampleStore):
    """The examples table; ``conn`` is an async session (a unit of work's) or connection."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def _connection(self) -> AsyncConnection:
        """The connection under ``conn``: the heavy reads go around the ORM session."""
        return self._conn if isinstance(self._conn, AsyncConnection) else await self._conn.connection()

    async def add(self, records: Sequence[ExampleRecord]) -> int:
        if not records:
            return 0
        # Straight COPY into the table, where a new cleaner version's examples all go; an id
        # already stored (a redelivery, a repeat in the batch) breaks the COPY, and the batch
        # goes again through a session's staging table and one INSERT ... ON CONFLICT (the
        # savepoint keeps the unit of work's other statements). The staging table's way writes
        # every body twice: 10,100-10,500 examples a second against 16,200-18,400 this way
        # (``bench_dataset.py``, the embedded PostgreSQL).
        # The savepoint goes through SQLAlchemy, which begins its transaction first: the
        # driver's own calls before that would each commit on their own.
        conn = await self._connection()
        await conn.exec_driver_sql("savepoint examples_add")
        driver = (await conn.get_raw_connection()).driver_connection
        rows = [tuple(getattr(r, name) for name in _ADD_COLUMNS) for r in records]
        try:
            await driver.copy_records_to_table("examples", columns=_ADD_COLUMNS, records=rows)
            new_ids = [r.example_id for r in records]
        except asyncpg.UniqueViolationError:
            await driver.execute("rollback to savepoint examples_add")
            await driver.execute(_STAGING)
            await driver.copy_records_to_table("examples_staging", columns=_ADD_COLUMNS, records=rows)
            new_ids = [row[0] for row in await driver.fetch(_ADD)]
        await driver.execute("release savepoint examples_add")
        if new_ids:
            await self._conn.execute(_APPLY_PENDING, {"ids": new_ids})
        return len(new_ids)

    async def retract(self, rejections: Sequence[ExampleRejected]) -> list[str]:
        if not rejections:
            return []
        columns = {
            "rid": [r.rejection_id for r in rejections],
            "obs": [r.lineage.observation_id for r in rejections],
            "ver": [r.cleaner_version for r in rejections],
            "cfg": [r.config_hash for r in rejections],
            "reason": [r.reason.value for r in rejections],
        }
        matched = (await self._conn.execute(_RETRACT, columns)).all()
        matched_ids = {row.rejection_id for row in matched}
        kept = [r for r in rejections if r.rejection_id in matched_ids or kept_for_later(r)]
        if kept:
            await self._conn.execute(
                pg_insert(retractions).on_conflict_do_nothing(),
                [{"rejection_id": r.rejection_id, "observation_id": r.lineage.observation_id,
                  "cleaner_version": r.cleaner_version, "config_hash": r.config_hash,
                  "reason": r.reason.value, "rejected_at": r.rejected_at} for r in kept],
            )
        return sorted({row.example_id for row in matched})

    async def high_water_mark(self) -> int:
        return int((await self._conn.execute(select(func.coalesce(func.max(examples.c.seq), 0)))).scalar_one())

    async def count_new(self, after_seq: int) -> int:
        stmt = select(func.count()).where(examples.c.seq > after_seq, examples.c.retracted.is_(False))
        return int((await self._conn.execute(stmt)).scalar_one())

    async def newest_version(self, cleaner_version: str | None, up_to_seq: int) -> CleanerVersion | None:
        stmt = select(examples.c.cleaner_version, examples.c.config_hash).where(examples.c.seq <= up_to_seq)
        if cleaner_version is not None:
            stmt = stmt.where(examples.c.cleaner_version == cleaner_version)
        row = (await self._conn.execute(stmt.order_by(examples.c.seq.desc()).limit(1))).first()
        return None if row is None else (row[0], row[1])

    async def candidates(self, version: CleanerVersion, up_to_seq: int, limit: int, stratify_by: Sequence[str],
                         encoding: str, max_tokens: int | None = None) -> tuple[list[Candidate], np.ndarray]:
        c = examples.c
        counted = case((c.token_encoding == encoding, c.tokens))
        stmt = (
            select(c.example_id, c.session_key, c.captured_at, c.intent,
                   type_coerce(c.tags, NullType),  # asyncpg already returns a list; skip SQLAlchemy's pass
                   c.body_bytes, counted, c.signature)
            .where(c.cleaner_version == version[0], c.config_hash == version[1],
                   c.retracted.is_(False), c.seq <= up_to_seq)
            .order_by(c.captured_at.desc(), c.example_id)
            .limit(limit)
        )
        if max_tokens is not None:
            stmt = stmt.where(or_(counted.is_(None), counted <= max_tokens))
        found: list[Candidate] = []
        chunks = [np.empty((0, NUM_PERM), dtype=np.uint32)]
        result = await (await self._connection()).stream(stmt)
        async for partition in result.partitions(5_000):
            found.extend(Candidate(r[0], r[1], r[2], stratum_of(r[3], r[4], stratify_by), r[5], r[6])
                         for r in partition)
            chunks.append(signatures_from_bytes([r[7] for r in partition]))
        return found, np.concatenate(chunks)

    async def lines(self, example_ids: Sequence[str]) -> dict[str, str]:
        if not example_ids:
            return {}
        # A build reads every chosen line (hundreds of MB): asyncpg directly is a third faster
        # than through SQLAlchemy's result processing, and these are plain text columns.
        driver = (await (await self._connection()).get_raw_connection()).driver_connection
        rows = await driver.fetch("select example_id, body from examples where example_id = any($1::text[])",
                                  list(example_ids))
        return {row[0]: row[1] for row in rows}


_ADD_COLUMNS = [f.name for f in fields(ExampleRecord)]
# The staging table lives as long as the session's connection and is emptied at each
# commit. Its body is stored uncompressed: the insert into ``examples`` compresses it
# once, where a compressed staged body would be compressed, read back and stored again.
_STAGING = f"""
    do $$ begin
        if to_regclass('pg_temp.examples_staging') is null then
            create temp table examples_staging on commit delete rows
                as select {", ".join(_ADD_COLUMNS)} from examples with no data;
            alter table examples_staging alter column body set storage external;
        end if;
    end $$
"""
# Taking the staged rows out as they are inserted leaves the table empty for the next
# call in the same transaction; they come out in the order they went in, so a repeated
# id keeps its first copy, as a row-by-row insert would.
_ADD = f"""
    with staged as (delete from examples_staging returning *)
    insert into examples ({", ".join(_ADD_COLUMNS)})
    select {", ".join(_ADD_COLUMNS)} from staged
    on conflict (example_id) do nothing
    returning example_id
"""

_APPLY_PENDING = text("""
    update examples e set retracted = true, retracted_by = r.rejection_id
    from retractions r
    where e.example_id = any(:ids) and not e.retracted and e.observation_id = r.observation_id
      and (r.reason = 'hallucination' or (e.cleaner_version = r.cleaner_version and e.config_hash = r.config_hash))
""").bindparams(bindparam("ids", type_=ARRAY(Text)))

# ``observation_id = any(:obs)`` lets the planner find the examples by their index: joined to
# the unnested rows alone, a table of a few thousand examples was read whole for every batch.
_RETRACT = text("""
    update examples e set retracted = true, retracted_by = r.rejection_id
    from unnest(:rid, :obs, :ver, :cfg, :reason) as r(rejection_id, observation_id, cleaner_version,
                                                      config_hash, reason)
    where e.observation_id = any(:obs) and e.observation_id = r.observation_id and not e.retracted
      and (r.reason = 'hallucination' or (e.cleaner_version = r.cleaner_version and e.config_hash = r.config_hash))
    returning e.example_id, r.rejection_id
""").bindparams(*(bindparam(n, type_=ARRAY(Text)) for n in ("rid", "obs", "ver", "cfg", "reason")))
