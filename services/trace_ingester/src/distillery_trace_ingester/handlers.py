"""Commands the trace-ingester consumes: ``BackfillRange`` from ``distillery ingest backfill``."""

from __future__ import annotations

from collections.abc import Sequence

from distillery_contracts.commands import BackfillRange
from distillery_runtime.consumer import BatchHandler, Delivery
from distillery_runtime.errors import PermanentError
from distillery_runtime.uow import UnitOfWork
from distillery_trace_ingester.adapters.repository import SqlIngesterRepository
from distillery_trace_ingester.domain.records import Backfill


def backfills_for(command: BackfillRange, project_ids: Sequence[str]) -> list[Backfill]:
    """One backfill per project the command names (all configured ones when it names none)."""
    targets = [command.project_id] if command.project_id else list(project_ids)
    unknown = [p for p in targets if p not in project_ids]
    if unknown:
        raise PermanentError(
            f"backfill {command.command_id} names project '{unknown[0]}', which this ingester does "
            f"not capture; configured: {', '.join(project_ids)}")
    return [Backfill(backfill_id=f"{command.command_id}:{project}", project_id=project,
                     from_time=command.from_time, to_time=command.to_time, position=command.from_time,
                     requested_by=command.requested_by, requested_at=command.requested_at)
            for project in targets]


def backfill_handler(project_ids: Sequence[str]) -> BatchHandler:
    """The handler recording requested backfills; the capture job works through them."""

    async def on_backfill_range(uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        requests = [b for d in deliveries if isinstance(d.event, BackfillRange)
                    for b in backfills_for(d.event, project_ids)]
        await SqlIngesterRepository(uow.session).add_backfills(requests)

    return on_backfill_range
