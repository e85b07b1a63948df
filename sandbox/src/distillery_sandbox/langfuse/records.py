"""Stored observations and scores, in the field names of the Langfuse public API.

An observation is kept as one dict with every ObservationV2 field (datetimes as
`datetime`); the API selects field groups from it. Simulated generations map onto it
here, exactly as the v2 observations endpoint will return them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from distillery_sandbox.workload.records import (
    MODEL_PRICES_PER_MILLION,
    SimulatedCall,
    SimulatedGeneration,
    SimulatedScore,
)

FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "core": ("id", "traceId", "startTime", "endTime", "projectId", "parentObservationId", "type"),
    "basic": ("name", "level", "statusMessage", "version", "environment", "bookmarked", "public",
              "userId", "sessionId", "isRootObservation"),
    "time": ("completionStartTime", "createdAt", "updatedAt"),
    "io": ("input", "output"),
    "metadata": ("metadata",),
    "model": ("providedModelName", "model", "internalModelId", "modelParameters", "modelId",
              "inputPrice", "outputPrice", "totalPrice"),
    "usage": ("usageDetails", "costDetails", "totalCost", "usagePricingTierName"),
    "prompt": ("promptId", "promptName", "promptVersion"),
    "metrics": ("latency", "timeToFirstToken"),
    "trace_context": ("tags", "release", "traceName"),
}
"""The v2 observations `fields` groups and the ObservationV2 properties each one adds.

`model` repeats `providedModelName`: the spec names the field providedModelName, while
the langfuse SDK 5.x's ObservationV2 model reads `model`; serving both suits either."""

DEFAULT_GROUPS = ("core", "basic")
ALWAYS_PRESENT = ("modelId", "inputPrice", "outputPrice", "totalPrice")
"""Required by the ObservationV2 schema: null when the `model` group is not requested."""

METADATA_LIMIT = 200
TRACE_CONTEXT_KEYS = ("traceName", "tags", "release", "userId", "sessionId")


def iso(moment: datetime | None) -> str | None:
    """Langfuse's timestamp format: UTC, milliseconds, a trailing Z."""
    if moment is None:
        return None
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def raw_io(value: Any) -> str | None:
    """Input and output as the v2 API returns them: the raw string that was ingested."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def model_prices(model: str | None) -> dict[str, Any]:
    """The matched model definition (id and per-token prices), as Langfuse fills it."""
    prices = MODEL_PRICES_PER_MILLION.get(model or "")
    if prices is None:
        return {"internalModelId": None, "modelId": None, "inputPrice": None,
                "outputPrice": None, "totalPrice": None}
    return {
        "internalModelId": f"sandbox-model-{model}",
        "modelId": f"sandbox-model-{model}",
        "inputPrice": f"{prices[0] / 1e6:.10f}".rstrip("0"),
        "outputPrice": f"{prices[1] / 1e6:.10f}".rstrip("0"),
        "totalPrice": None,
    }


def empty_observation(observation_id: str, trace_id: str | None, project_id: str) -> dict[str, Any]:
    """Every ObservationV2 field, unset."""
    record: dict[str, Any] = {name: None for group in FIELD_GROUPS.values() for name in group}
    record.update(id=observation_id, traceId=trace_id, projectId=project_id, type="SPAN",
                  level="DEFAULT", bookmarked=False, public=False, isRootObservation=False,
                  metadata={}, tags=[])
    return record


def observation_from_generation(generation: SimulatedGeneration, project_id: str) -> dict[str, Any]:
    """The stored form of a simulated generation (what the platform's SDK would have sent).

    Input is what the Langfuse OpenAI integration records for a request with tools:
    {"messages": [...], "tools": [...]}. It is encoded to its raw JSON string only when
    first read (see `observation_input`): most reads never ask for it.
    """
    g = generation
    record = empty_observation(g.observation_id, g.trace_id, project_id)
    record.update(
        startTime=g.start_time, endTime=g.end_time, completionStartTime=g.completion_start_time,
        type="GENERATION", name=g.name, level=g.level, statusMessage=g.status_message,
        environment=g.environment, userId=g.user_id, sessionId=g.session_id,
        isRootObservation=True, output=raw_io(g.output), metadata=dict(g.metadata),
        providedModelName=g.model, modelParameters=dict(g.model_parameters),
        promptName=g.prompt_name, promptVersion=g.prompt_version, tags=list(g.tags),
        traceName=g.trace_name, promptId=f"prompt-{g.prompt_name}-v{g.prompt_version}",
    )
    record[_PENDING_INPUT] = (g.messages, g.tools)
    record.update(model_prices(g.model))
    if g.usage is not None:
        record["usageDetails"] = {"input": g.usage.input_tokens, "output": g.usage.output_tokens,
                                  "total": g.usage.total_tokens}
    if g.cost is not None:
        record["costDetails"] = {"input": g.cost.input, "output": g.cost.output, "total": g.cost.total}
        record["totalCost"] = g.cost.total
    return with_metrics(record)


_PENDING_INPUT = "_pending_input"


def observation_input(record: dict[str, Any]) -> str | None:
    """The observation's input as the raw string the API returns (encoded on first read)."""
    pending = record.get(_PENDING_INPUT)
    if record["input"] is None and pending is not None:
        messages, tools = pending
        chat: Any = {"messages": list(messages), "tools": list(tools)} if tools else list(messages)
        record["input"] = raw_io(chat)
    return record["input"]


def with_metrics(record: dict[str, Any]) -> dict[str, Any]:
    """Fill the derived `latency` and `timeToFirstToken` (seconds) from the timestamps."""
    start, end, first = record["startTime"], record["endTime"], record["completionStartTime"]
    record["latency"] = (end - start).total_seconds() if start and end else None
    record["timeToFirstToken"] = (first - start).total_seconds() if start and first else None
    return record


def score_from_simulated(score: SimulatedScore, project_id: str) -> dict[str, Any]:
    return new_score(
        project_id, score_id=score.score_id, name=score.name, value=score.value,
        data_type=score.data_type, source=score.source, timestamp=score.timestamp,
        environment=score.environment, comment=score.comment, trace_id=score.trace_id,
        observation_id=score.observation_id,
    )


def new_score(project_id: str, *, score_id: str, name: str, value: float | str, data_type: str,
              source: str, timestamp: datetime, environment: str, comment: str | None = None,
              trace_id: str | None = None, observation_id: str | None = None,
              session_id: str | None = None, dataset_run_id: str | None = None,
              config_id: str | None = None, metadata: dict[str, Any] | None = None,
              queue_id: str | None = None, author_user_id: str | None = None) -> dict[str, Any]:
    """A stored score: value is a float for NUMERIC and BOOLEAN, a string otherwise."""
    return {
        "id": score_id, "projectId": project_id, "name": name, "value": value,
        "dataType": data_type, "source": source, "timestamp": timestamp,
        "environment": environment, "createdAt": None, "updatedAt": None, "comment": comment,
        "configId": config_id, "metadata": metadata, "authorUserId": author_user_id,
        "queueId": queue_id, "traceId": trace_id, "observationId": observation_id,
        "sessionId": session_id, "datasetRunId": dataset_run_id,
    }


def records_from_calls(
    calls: Iterable[SimulatedCall], project_id: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(observations, scores) of simulated calls, in the stored form."""
    observations, scores = [], []
    for call in calls:
        for generation in call.generations:
            observations.append(observation_from_generation(generation, project_id))
            scores.extend(score_from_simulated(s, project_id) for s in generation.scores)
    return observations, scores
