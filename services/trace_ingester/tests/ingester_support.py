"""Helpers of the trace-ingester's unit tests: the pacing they run at and a capture over the fakes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from distillery_trace_ingester.adapters.fakes import FakeIngesterDatabase, FakeLangfuseReader
from distillery_trace_ingester.domain.windows import Pacing
from distillery_trace_ingester.samples import T0
from distillery_trace_ingester.services import ProjectCapture

PACING = Pacing(overlap=timedelta(minutes=10), settle_delay=timedelta(seconds=30),
                max_span=timedelta(minutes=15), poll_interval=timedelta(seconds=15))
"""The service's default pacing, spelt out here so that the tests can reason about its numbers."""


def project_capture(hub: FakeIngesterDatabase, reader: FakeLangfuseReader, clock: Callable[[], datetime],
                    initial_watermark: datetime = T0, **knobs: Any) -> ProjectCapture:
    """Project "clinic", read through ``reader`` into ``hub`` at :data:`PACING`."""
    return ProjectCapture(project_id="clinic", reader=reader, new_uow=hub.new_uow, store=hub.store,
                          pacing=PACING, initial_watermark=initial_watermark, clock=clock, **knobs)
