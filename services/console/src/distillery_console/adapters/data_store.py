"""The Data page's store: examples and dead letters, their retention, and republishing.
An interface and its SQL adapter; the fake is in fakes.py.

Writes are keyed by event ids (a replay leaves the rows as they were), except who republished
a letter, which only the console knows. A republished message goes to the console's outbox in
the transaction that records the operator, so it is published if and only if that is recorded.
"""

from __future__ import annotations

import abc
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Select, Table, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_console.adapters import tables as t
from distillery_console.domain.data import ExampleRow, LetterGroup, LetterRow
from distillery_runtime.outbox import ADD_OUTBOX, OutgoingMessage, outbox_columns


class AbstractDataStore(abc.ABC):
    """Examples and dead letters as the Data page reads them; one contract suite runs on both adapters."""

    @abc.abstractmethod
    async def save_examples(self, rows: list[ExampleRow]) -> None: ...

    @abc.abstractmethod
    async def save_letters(self, rows: list[LetterRow]) -> None: ...

    @abc.abstractmethod
    async def cleaner_versions(self) -> list[str]:
        """Versions with examples kept, newest first (by their latest example)."""

    @abc.abstractmethod
    async def example_counts(self, cleaner_version: str) -> dict[str, int]:
        """Examples kept per kind and rejection reason: 'accepted', then each reason, most first."""

    @abc.abstractmethod
    async def examples(self, cleaner_version: str, kind: str, reason: str | None, offset: int,
                       limit: int) -> list[ExampleRow]:
        """Newest first."""

    @abc.abstractmethod
    async def letter_groups(self) -> list[LetterGroup]:
        """Letters per source topic and error type, by topic then most letters."""

    @abc.abstractmethod
    async def letters(self, source_topic: str | None, error_type: str | None, offset: int,
                      limit: int) -> list[LetterRow]:
        """Newest first."""

    @abc.abstractmethod
    async def count_letters(self, source_topic: str | None, error_type: str | None) -> int: ...

    @abc.abstractmethod
    async def letter(self, letter_id: str) -> LetterRow | None: ...

    @abc.abstractmethod
    async def republish(self, letter_id: str, message: OutgoingMessage, operator: str, reason: str,
                        at: datetime) -> None:
        """Queue ``message`` for publication and record who republished the letter and why."""

    @abc.abstractmethod
    async def forget_examples(self, before: datetime, limit: int) -> int:
        """Delete at most ``limit`` examples decided before ``before``; how many went."""

    @abc.abstractmethod
    async def forget_letters(self, before: datetime, limit: int) -> int: ...

    @abc.abstractmethod
    async def forget_items(self, before: datetime, limit: int) -> int:
        """Evaluation items scored before ``before`` (they hold prompts and answers)."""


class SqlDataStore(AbstractDataStore):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save_examples(self, rows: list[ExampleRow]) -> None:
        if rows:
            await self.session.execute(insert(t.examples).values([asdict(r) for r in rows]).on_conflict_do_nothing())

    async def save_letters(self, rows: list[LetterRow]) -> None:
        if rows:
            await self.session.execute(insert(t.dead_letters).values([asdict(r) for r in rows]).on_conflict_do_nothing())

    async def cleaner_versions(self) -> list[str]:
        c = t.examples.c
        rows = await self.session.execute(select(c.cleaner_version, func.max(c.at).label("latest"))
                                          .group_by(c.cleaner_version).order_by(func.max(c.at).desc(),
                                                                                c.cleaner_version))
        return [r.cleaner_version for r in rows]

    async def example_counts(self, cleaner_version: str) -> dict[str, int]:
        c = t.examples.c
        label = func.coalesce(c.reason, c.kind)
        rows = await self.session.execute(
            select(label, func.count()).where(c.cleaner_version == cleaner_version).group_by(c.kind, label)
            .order_by(c.kind, func.count().desc(), label))
        return {name: int(n) for name, n in rows}

    async def examples(self, cleaner_version: str, kind: str, reason: str | None, offset: int,
                       limit: int) -> list[ExampleRow]:
        c = t.examples.c
        query = select(t.examples).where(c.cleaner_version == cleaner_version, c.kind == kind)
        if reason is not None:
            query = query.where(c.reason == reason)
        rows = await self.session.execute(query.order_by(c.at.desc(), c.example_id).offset(offset).limit(limit))
        return [ExampleRow(**r._mapping) for r in rows]

    async def letter_groups(self) -> list[LetterGroup]:
        c = t.dead_letters.c
        rows = await self.session.execute(
            select(c.source_topic, c.error_type, func.count(), func.count(c.republished_at))
            .group_by(c.source_topic, c.error_type).order_by(c.source_topic, func.count().desc(), c.error_type))
        return [LetterGroup(topic, error, int(n), int(done)) for topic, error, n, done in rows]

    async def letters(self, source_topic: str | None, error_type: str | None, offset: int,
                      limit: int) -> list[LetterRow]:
        c = t.dead_letters.c
        query = _letters_where(select(t.dead_letters), source_topic, error_type)
        rows = await self.session.execute(query.order_by(c.failed_at.desc(), c.letter_id).offset(offset).limit(limit))
        return [LetterRow(**r._mapping) for r in rows]

    async def count_letters(self, source_topic: str | None, error_type: str | None) -> int:
        query = _letters_where(select(func.count()).select_from(t.dead_letters), source_topic, error_type)
        return int(await self.session.scalar(query) or 0)

    async def letter(self, letter_id: str) -> LetterRow | None:
        row = (await self.session.execute(select(t.dead_letters).where(t.dead_letters.c.letter_id == letter_id))).first()
        return LetterRow(**row._mapping) if row else None

    async def republish(self, letter_id: str, message: OutgoingMessage, operator: str, reason: str,
                        at: datetime) -> None:
        await self.session.execute(ADD_OUTBOX, outbox_columns([message]))
        await self.session.execute(update(t.dead_letters).where(t.dead_letters.c.letter_id == letter_id).values(
            republished_by=operator, republished_at=at, republish_reason=reason))

    async def forget_examples(self, before: datetime, limit: int) -> int:
        return await self._forget(t.examples, "example_id", t.examples.c.at, before, limit)

    async def forget_letters(self, before: datetime, limit: int) -> int:
        return await self._forget(t.dead_letters, "letter_id", t.dead_letters.c.failed_at, before, limit)

    async def forget_items(self, before: datetime, limit: int) -> int:
        c = t.eval_items.c
        doomed = (select(c.run_id, c.item_id).where(c.scored_at < before).order_by(c.scored_at).limit(limit)
                  .with_for_update(skip_locked=True))
        gone = await self.session.execute(delete(t.eval_items).where(
            tuple_(c.run_id, c.item_id).in_(doomed)).returning(c.item_id))
        return len(gone.all())

    async def _forget(self, table: Table, key_name: str, age: Column[Any], before: datetime, limit: int) -> int:
        key_column = table.c[key_name]
        doomed = select(key_column).where(age < before).order_by(age).limit(limit).with_for_update(skip_locked=True)
        gone = await self.session.execute(delete(table).where(key_column.in_(doomed)).returning(key_column))
        return len(gone.all())


def _letters_where(query: Select[Any], source_topic: str | None, error_type: str | None) -> Select[Any]:
    c = t.dead_letters.c
    if source_topic is not None:
        query = query.where(c.source_topic == source_topic)
    if error_type is not None:
        query = query.where(c.error_type == error_type)
    return query

