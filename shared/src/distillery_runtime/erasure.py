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

from distillery_contracts.privacy import CallerErased, EraseCaller, StoreErasure
from distillery_contracts.registry import COMMANDS_PRIVACY, PRIVACY_ERASURES, get_topic
from distillery_runtime.consumer import Delivery, Subscription
from distillery_runtime.logs import get_logger
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)


@dataclass(frozen=True)
class Caller:
    """Whom to erase: a Langfuse session (one call) or one trace (one turn)."""

    session_id: str | None
    trace_id: str | None

    @classmethod
    def of(cls, command: EraseCaller) -> Caller:
        return cls(command.session_id, command.trace_id)


class AbstractErasureStore(abc.ABC):
    """Removes one caller's rows from a service's tables, in the unit of work's transaction."""

    @abc.abstractmethod
    async def erase(self, caller: Caller) -> list[StoreErasure]:
        """Delete the caller's rows; one entry per store that can hold callers' data, found or not."""


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


def erasure_subscription(service: str,
                         handler: Callable[[UnitOfWork, list[Delivery[EraseCaller]]], Awaitable[None]]
                         ) -> Subscription[EraseCaller]:
    """The service's own consumer of erasure commands (every service reads every command)."""
    return Subscription(get_topic(COMMANDS_PRIVACY), EraseCaller, handler, group=f"distillery.{service}.privacy")
