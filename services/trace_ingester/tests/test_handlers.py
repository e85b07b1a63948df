"""The BackfillRange handler: typed deliveries in, backfills recorded in the injected store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from distillery_contracts.commands import BackfillRange
from distillery_contracts.envelope import Envelope
from distillery_contracts.registry import COMMANDS_INGEST
from distillery_runtime.consumer import Delivery
from distillery_runtime.errors import PermanentError
from distillery_trace_ingester.adapters.fakes import FakeIngesterDatabase
from distillery_trace_ingester.handlers import Handlers
from distillery_trace_ingester.samples import T0


def delivery(command: BackfillRange, offset: int = 0) -> Delivery[BackfillRange]:
    envelope = Envelope.new(event_type=command.event_type, schema_version=command.schema_version,
                            producer="cli/0", event_id=command.event_id())
    return Delivery(envelope, command, COMMANDS_INGEST, 0, offset, None)


async def test_a_backfill_of_every_project_is_recorded_once_per_configured_project():
    database = FakeIngesterDatabase()
    handlers = Handlers(database.store, ["a", "b"])
    command = BackfillRange(from_time=T0, to_time=T0 + timedelta(hours=1), requested_by="ops")

    async with database.new_uow() as uow:
        await handlers.on_backfill_range(uow, [delivery(command)])
        await uow.commit()

    assert sorted(b.project_id for b in database.state.backfills.values()) == ["a", "b"]
    assert all(b.position == T0 and not b.done for b in database.state.backfills.values())


async def test_a_backfill_naming_an_unknown_project_is_refused_and_records_nothing():
    database = FakeIngesterDatabase()
    handlers = Handlers(database.store, ["clinic"])
    command = BackfillRange(from_time=T0, to_time=T0 + timedelta(hours=1), requested_by="ops", project_id="zz")

    async with database.new_uow() as uow:
        with pytest.raises(PermanentError, match="names project 'zz'"):
            await handlers.on_backfill_range(uow, [delivery(command)])

    assert database.state.backfills == {} and database.commits == 0
