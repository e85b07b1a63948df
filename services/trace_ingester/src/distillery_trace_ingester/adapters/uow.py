"""The ingester's unit of work: its repository and the outbox in one transaction."""

from __future__ import annotations

import abc
from collections.abc import Callable
from types import TracebackType

from distillery_contracts.base import Event
from distillery_runtime.uow import UnitOfWork
from distillery_trace_ingester.adapters.repository import AbstractIngesterRepository, SqlIngesterRepository


class AbstractIngesterUnitOfWork(abc.ABC):
    """Repository changes and emitted events become visible together at ``commit``, or never."""

    repo: AbstractIngesterRepository

    async def __aenter__(self) -> AbstractIngesterUnitOfWork:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        """Leaving without ``commit`` discards everything."""

    @abc.abstractmethod
    def emit(self, topic: str, event: Event, *, key: str | None = None) -> None:
        """Queue an event; it is published only if the transaction commits."""

    @abc.abstractmethod
    async def commit(self) -> None:
        """Make the repository changes and the queued events durable, atomically."""


class SqlIngesterUnitOfWork(AbstractIngesterUnitOfWork):
    """The runtime's UnitOfWork (session + outbox) with the SQL repository on its session."""

    def __init__(self, new_uow: Callable[[], UnitOfWork]) -> None:
        self._new_uow = new_uow
        self._uow: UnitOfWork | None = None

    async def __aenter__(self) -> SqlIngesterUnitOfWork:
        self._uow = self._new_uow()
        await self._uow.__aenter__()
        self.repo = SqlIngesterRepository(self._uow.session)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._uow is not None
        await self._uow.__aexit__(exc_type, exc, tb)

    def emit(self, topic: str, event: Event, *, key: str | None = None) -> None:
        assert self._uow is not None
        self._uow.emit(topic, event, key=key)

    async def commit(self) -> None:
        assert self._uow is not None
        await self._uow.commit()
