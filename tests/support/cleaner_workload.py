"""The simulated clinic's generations as the cleaner receives them, for its tests and benchmark.

The sandbox workload (typical defect rates, several turns, about 6 KB per generation)
goes through the Langfuse API shape and the trace-ingester's own mapping, so what the
cleaner judges is what it would read from ``traces.raw``; each generation comes with its
ground truth (the defects injected) to check the verdicts against.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from distillery_contracts.traces import TraceCaptured
from distillery_sandbox.langfuse.records import FIELD_GROUPS, records_from_calls
from distillery_sandbox.langfuse.render import render_observation, render_score
from distillery_sandbox.workload import DefectRates, SimulatedCall, WorkloadConfig, simulate_calls
from distillery_trace_ingester.services import group_by_observation, observation_to_trace

PROJECT = "clinic"
CLINIC_PHONE = "+353 1 555 0142"
"""The simulated clinic's own number: public, so the cleaner is told to keep it."""


def sandbox_traces(calls: int, seed: int = 7, defects: DefectRates | None = None,
                   ) -> Iterator[tuple[TraceCaptured, Any, SimulatedCall]]:
    """Simulated generations as ``TraceCaptured`` (via the Langfuse API shape and the
    ingester's mapping, scores attached), each with its ground-truth generation and call."""
    config = WorkloadConfig(seed=seed, calls=calls, defects=defects or DefectRates.typical())
    groups = tuple(g for g in FIELD_GROUPS if g != "core")
    ingested_at = datetime.now(UTC)
    for call in simulate_calls(config):
        yield from _call_traces(call, groups, ingested_at)


def _call_traces(call: SimulatedCall, groups: tuple[str, ...],
                 ingested_at: datetime) -> Iterator[tuple[TraceCaptured, Any, SimulatedCall]]:
    observations, scores = records_from_calls([call], PROJECT)
    by_observation = group_by_observation(render_score(s, ("details", "subject")) for s in scores)
    for record, generation in zip(observations, call.generations, strict=True):
        rendered = json.loads(json.dumps(render_observation(record, groups, frozenset())))
        trace = observation_to_trace(rendered, by_observation.get(record["id"], []), PROJECT, ingested_at)
        yield trace, generation, call
