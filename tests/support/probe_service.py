"""A minimal service the runtime's integration tests run: consumes traces, records them, emits.

Not part of the product. It applies each ``TraceCaptured`` by recording the observation
in its own table and emitting an ``ExampleRejected`` through the outbox, so the tests can
see every stage of delivery: broker → handler → table → outbox → broker. A trace whose
metadata says ``{"probe": "fail"}`` makes the handler raise, every time; one that says
``{"probe": "oversize"}`` makes it emit a rejection of 2 MB, over any broker's default limit.

Run as a process: ``python tests/support/probe_service.py`` (settings from DISTILLERY_*).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, Table, Text, func
from sqlalchemy.dialects.postgresql import insert as pg_insert

from distillery_contracts.examples import ExampleRejected, Lineage, RejectReason, derive_rejection_id
from distillery_contracts.registry import EXAMPLES_REJECTED, TRACES_RAW, get_topic
from distillery_contracts.traces import TraceCaptured
from distillery_runtime.consumer import Delivery, Subscription
from distillery_runtime.service import ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork

metadata = MetaData()
seen = Table(
    "seen",
    metadata,
    Column("observation_id", Text, primary_key=True),
    Column("session_id", Text),
    Column("applied", Integer, nullable=False, server_default="1"),
)


class ProbeFailure(RuntimeError):
    """The failure a trace asks for with metadata {"probe": "fail"}."""


async def on_trace_captured(uow: UnitOfWork, deliveries: list[Delivery]) -> None:
    traces = [d for d in deliveries if isinstance(d.event, TraceCaptured)]
    for d in traces:
        if d.event.metadata.get("probe") == "fail":
            raise ProbeFailure(f"probe told to fail on {d.event.observation_id}")
    if not traces:
        return
    rows = [{"observation_id": d.event.observation_id, "session_id": d.event.session_id} for d in traces]
    stmt = pg_insert(seen).values(rows)
    stmt = stmt.on_conflict_do_update(index_elements=["observation_id"], set_={"applied": seen.c.applied + 1})
    await uow.session.execute(stmt)
    for d in traces:
        trace: TraceCaptured = d.event
        uow.emit(EXAMPLES_REJECTED, ExampleRejected(
            rejection_id=derive_rejection_id(trace.observation_id, "probe", "0"),
            cleaner_version="probe", config_hash="0", reason=RejectReason.INCOMPLETE,
            detail="x" * 2_000_000 if trace.metadata.get("probe") == "oversize" else "seen by the runtime probe",
            lineage=Lineage(project_id=trace.project_id, observation_id=trace.observation_id,
                            trace_id=trace.trace_id, session_id=trace.session_id,
                            captured_at=trace.start_time, model=trace.model),
            rejected_at=datetime.now(UTC),
        ), cause=d.envelope)


def build(settings: RuntimeSettings) -> ServiceSpec:
    return ServiceSpec(
        name="probe",
        version="0.0.1",
        schema="probe",
        migrations_dir=Path(__file__).parent / "probe_migrations",
        subscriptions=[Subscription(topic=get_topic(TRACES_RAW), event=TraceCaptured, handler=on_trace_captured)],
    )


if __name__ == "__main__":
    from distillery_runtime.entrypoint import run_service

    sys.exit(run_service(build))
