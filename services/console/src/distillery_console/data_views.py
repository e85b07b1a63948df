"""The Data page's reads: a cleaner version's examples by kind and reason, and dead letters
by topic and reason, a page at a time, from the read model only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from distillery_console.adapters.data_store import AbstractDataStore, SqlDataStore
from distillery_console.domain.data import ACCEPTED, REJECTED, ExampleRow, LetterGroup, LetterRow, trace_url


@dataclass(frozen=True)
class ExampleView:
    row: ExampleRow
    trace_url: str | None
    """The generation's trace in Langfuse, when the console knows the host."""


@dataclass(frozen=True)
class ExamplesPage:
    versions: list[str]
    version: str | None
    kind: str
    reason: str | None
    accepted: int
    rejected: dict[str, int]
    """Rejections kept per reason, most first: the filter's choices with their counts."""
    rows: list[ExampleView]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class LettersPage:
    groups: list[LetterGroup]
    topic: str | None
    reason: str | None
    rows: list[LetterRow]
    page: int
    pages: int
    total: int


async def read_examples(store: AbstractDataStore, version: str | None, kind: str, reason: str | None,
                        page: int, page_size: int, langfuse_host: str | None) -> ExamplesPage:
    versions = await store.cleaner_versions()
    version = version if version in versions else (versions[0] if versions else None)
    kind = REJECTED if kind == REJECTED or reason else ACCEPTED
    counts = await store.example_counts(version) if version else {}
    accepted = counts.pop(ACCEPTED, 0)
    reason = reason if reason in counts else None
    total = accepted if kind == ACCEPTED else counts[reason] if reason else sum(counts.values())
    pages, page = _pages(total, page, page_size)
    rows = await store.examples(version, kind, reason, (page - 1) * page_size, page_size) if version else []
    views = [ExampleView(r, trace_url(langfuse_host, r.project_id, r.trace_id)) for r in rows]
    return ExamplesPage(versions, version, kind, reason, accepted, counts, views, page, pages, total)


async def read_letters(store: AbstractDataStore, topic: str | None, reason: str | None, page: int,
                       page_size: int) -> LettersPage:
    total = await store.count_letters(topic, reason)
    pages, page = _pages(total, page, page_size)
    rows = await store.letters(topic, reason, (page - 1) * page_size, page_size)
    return LettersPage(await store.letter_groups(), topic, reason, rows, page, pages, total)


def _pages(total: int, page: int, page_size: int) -> tuple[int, int]:
    pages = max(1, -(-total // page_size))
    return pages, min(max(page, 1), pages)


DataOpener = Callable[[], AbstractAsyncContextManager[AbstractDataStore]]


def sql_data_stores(sessions: async_sessionmaker[AsyncSession]) -> DataOpener:
    @asynccontextmanager
    async def open_store() -> AsyncIterator[AbstractDataStore]:
        async with sessions() as session:
            yield SqlDataStore(session)

    return open_store


class DataViews:
    """The Data page's reads, each in a store (a session) of its own."""

    def __init__(self, open_store: DataOpener, page_size: int, langfuse_host: str | None) -> None:
        self.open_store = open_store
        self.page_size = page_size
        self.langfuse_host = langfuse_host

    async def examples(self, version: str | None, kind: str, reason: str | None, page: int) -> ExamplesPage:
        async with self.open_store() as store:
            return await read_examples(store, version, kind, reason, page, self.page_size, self.langfuse_host)

    async def letters(self, topic: str | None, reason: str | None, page: int) -> LettersPage:
        async with self.open_store() as store:
            return await read_letters(store, topic, reason, page, self.page_size)
