"""Erasing one caller: the part every service shares.

A service that holds callers' data subscribes to ``distillery.commands.privacy.v1`` with
:func:`erasure_subscription`, and its ``services.erase_callers`` hands each command to
:func:`erase_callers` with its own :class:`AbstractErasureStore`. The store removes the
caller's rows from the service's tables in the unit of work's transaction; the service's
``CallerErased`` report goes out through the outbox in that same transaction, so a report
is never sent for rows that are still there, and a redelivered command is applied once.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.sql import Executable

from distillery_contracts.privacy import CallerErased, EraseCaller, StoreErasure
from distillery_contracts.registry import COMMANDS_PRIVACY, PRIVACY_ERASURES, get_topic
from distillery_runtime.consumer import Delivery, Subscription, delivery_of
from distillery_runtime.logs import get_logger
from distillery_runtime.uow import FakeUnitOfWork, UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True)
class Caller:
    """Whom to erase: a Langfuse session (one call) or one trace (one turn)."""

    session_id: str | None
    trace_id: str | None

    @classmethod
    def of(cls, command: EraseCaller) -> Caller:
        return cls(command.session_id, command.trace_id)

    def matches(self, session_id: str | None, trace_id: str | None) -> bool:
        """Whether a row with these ids is the caller's: the fakes' twin of :func:`matches_sql`
        (a missing id never matches, as NULL never equals anything in SQL)."""
        return ((self.session_id is not None and session_id == self.session_id)
                or (self.trace_id is not None and trace_id == self.trace_id))

    @property
    def params(self) -> dict[str, str | None]:
        """The bind parameters of :func:`matches_sql`."""
        return {"session_id": self.session_id, "trace_id": self.trace_id}


def matches_sql(session_id: str = "session_id", trace_id: str = "trace_id") -> str:
    """A condition on the two columns (or expressions) that selects the caller's rows, bound
    with :attr:`Caller.params`. The cast gives PostgreSQL a type for a session id that is NULL
    (a command that names a trace only)."""
    return (f"((cast(:session_id as text) is not null and {session_id} = :session_id) "
            f"or {trace_id} = :trace_id)")


class AbstractErasureStore(abc.ABC):
    """Removes one caller's rows from a service's tables, in the unit of work's transaction."""

    @abc.abstractmethod
    async def erase(self, caller: Caller) -> list[StoreErasure]:
        """Delete the caller's rows; one entry per store that can hold callers' data, found or not."""


class StatementErasureStore(AbstractErasureStore):
    """The SQL store of a service that erases a caller with one statement: bound with
    :attr:`Caller.params`, it removes (or anonymises) the caller's rows and selects one count
    per table; ``report`` turns that row into the report (the service's fake calls it too)."""

    def __init__(self, conn: Any, statement: Executable, report: Callable[..., list[StoreErasure]]) -> None:
        self._conn = conn
        self._statement = statement
        self._report = report

    async def erase(self, caller: Caller) -> list[StoreErasure]:
        row = (await self._conn.execute(self._statement, caller.params)).one()
        return self._report(*row)


async def erase_callers(uow: UnitOfWork, store: AbstractErasureStore, service: str,
                        commands: Sequence[EraseCaller]) -> None:
    """Erase each named caller and report what was removed, store by store."""
    for command in commands:
        stores = await store.erase(Caller.of(command))
        uow.emit(PRIVACY_ERASURES, CallerErased(
            erasure_id=command.command_id, service=service, session_id=command.session_id,
            trace_id=command.trace_id, stores=stores))
        log.info("caller erased", service=service, erasure_id=command.command_id,
                 removed=sum(s.removed for s in stores))


async def erasure_report(handler: Callable[[UnitOfWork, list[Delivery[EraseCaller]]], Awaitable[None]],
                         command: EraseCaller) -> CallerErased:
    """For tests: run a service's erasure handler on ``command`` in a FakeUnitOfWork and return
    the one report it committed."""
    uow = FakeUnitOfWork()
    await handler(uow, [delivery_of(command)])
    await uow.commit()
    [message] = uow.committed
    return CallerErased.model_validate_json(message.payload)


def erasure_subscription(service: str,
                         handler: Callable[[UnitOfWork, list[Delivery[EraseCaller]]], Awaitable[None]]
                         ) -> Subscription[EraseCaller]:
    """The service's own consumer of erasure commands (every service reads every command)."""
    return Subscription(get_topic(COMMANDS_PRIVACY), EraseCaller, handler, group=f"distillery.{service}.privacy")
