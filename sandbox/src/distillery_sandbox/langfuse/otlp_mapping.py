"""How Langfuse reads an OTel span: which attribute fills which observation field."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from distillery_sandbox.langfuse.records import empty_observation, model_prices, raw_io, with_metrics
from distillery_sandbox.workload.records import MODEL_PRICES_PER_MILLION

if TYPE_CHECKING:
    from distillery_sandbox.langfuse.otlp import OtlpSpan

OBSERVATION_TYPES = ("SPAN", "GENERATION", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER",
                     "EVALUATOR", "EMBEDDING", "GUARDRAIL")
_INPUT_KEYS = ("langfuse.observation.input", "input.value", "gen_ai.input.messages", "gen_ai.prompt")
_OUTPUT_KEYS = ("langfuse.observation.output", "output.value", "gen_ai.output.messages",
                "gen_ai.completion")
_MODEL_KEYS = ("langfuse.observation.model.name", "gen_ai.response.model", "gen_ai.request.model")
_USAGE_ALIASES = {"prompt_tokens": "input", "completion_tokens": "output", "total_tokens": "total",
                  "input_tokens": "input", "output_tokens": "output"}
_OBSERVATION_METADATA = "langfuse.observation.metadata"
_TRACE_METADATA = "langfuse.trace.metadata"


def _first(attributes: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if attributes.get(key) is not None:
            return attributes[key]
    return None


def _json_or_raw(value: Any) -> Any:
    """SDK 5.x JSON-encodes structured attribute values; decode them when they parse."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _datetime(value: Any) -> datetime | None:
    value = _json_or_raw(value)
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _observation_type(attributes: dict[str, Any]) -> str:
    declared = str(attributes.get("langfuse.observation.type") or "").upper()
    if declared in OBSERVATION_TYPES:
        return declared
    if _first(attributes, _MODEL_KEYS) or any(k.startswith("gen_ai.usage") for k in attributes):
        return "GENERATION"
    return "SPAN"


def _metadata(attributes: dict[str, Any]) -> dict[str, Any]:
    """Trace metadata, then observation metadata over it (per-key attributes in v5)."""
    metadata: dict[str, Any] = {}
    for prefix in (_TRACE_METADATA, _OBSERVATION_METADATA):
        whole = _json_or_raw(attributes.get(prefix))
        if isinstance(whole, dict):
            metadata.update(whole)
        for key, value in attributes.items():
            if key.startswith(prefix + "."):
                metadata[key[len(prefix) + 1:]] = _json_or_raw(value)
    return metadata


def _usage(attributes: dict[str, Any]) -> dict[str, int] | None:
    details = _json_or_raw(attributes.get("langfuse.observation.usage_details"))
    if not isinstance(details, dict):
        details = {key.rsplit(".", 1)[-1]: value for key, value in attributes.items()
                   if key.startswith("gen_ai.usage.")}
    usage: dict[str, int] = {}
    for key, value in details.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            usage[_USAGE_ALIASES.get(key, key)] = int(value)
    if not usage:
        return None
    if "total" not in usage and ("input" in usage or "output" in usage):
        usage["total"] = usage.get("input", 0) + usage.get("output", 0)
    return usage


def _cost(attributes: dict[str, Any], model: str | None, usage: dict[str, int] | None
          ) -> dict[str, float] | None:
    """The cost sent by the SDK, else inferred from the model's prices as Langfuse does."""
    details = _json_or_raw(attributes.get("langfuse.observation.cost_details"))
    if isinstance(details, dict):
        cost = {k: float(v) for k, v in details.items() if isinstance(v, (int, float))}
    elif usage and model in MODEL_PRICES_PER_MILLION:
        per_input, per_output = MODEL_PRICES_PER_MILLION[model]
        cost = {"input": usage.get("input", 0) * per_input / 1e6,
                "output": usage.get("output", 0) * per_output / 1e6}
    else:
        return None
    if cost and "total" not in cost:
        cost["total"] = sum(cost.values())
    return cost


def _model_parameters(attributes: dict[str, Any]) -> dict[str, Any] | None:
    declared = _json_or_raw(attributes.get("langfuse.observation.model.parameters"))
    if isinstance(declared, dict):
        return declared
    found = {key.removeprefix("gen_ai.request."): value for key, value in attributes.items()
             if key in ("gen_ai.request.max_tokens", "gen_ai.request.temperature",
                        "gen_ai.request.top_p")}
    return found or None


def _tags(value: Any) -> list[str]:
    value = _json_or_raw(value)
    if isinstance(value, list):
        return [str(tag) for tag in value]
    return [value] if isinstance(value, str) and value else []


def observation_from_span(span: OtlpSpan, project_id: str) -> dict[str, Any]:
    """The stored observation for one span of a Langfuse-instrumented application."""
    a, resource = span.attributes, span.resource
    record = empty_observation(span.span_id, span.trace_id, project_id)
    model = _first(a, _MODEL_KEYS)
    usage = _usage(a)
    cost = _cost(a, model, usage)
    prompt_version = a.get("langfuse.observation.prompt.version")
    record.update(
        startTime=span.start, endTime=span.end,
        completionStartTime=_datetime(a.get("langfuse.observation.completion_start_time")),
        parentObservationId=span.parent_span_id, type=_observation_type(a), name=span.name,
        isRootObservation=span.parent_span_id is None
        or bool(a.get("langfuse.internal.is_app_root")),
        level=str(a.get("langfuse.observation.level") or ("ERROR" if span.status_code == 2 else "DEFAULT")),
        statusMessage=a.get("langfuse.observation.status_message") or span.status_message,
        version=a.get("langfuse.version"),
        environment=a.get("langfuse.environment") or resource.get("langfuse.environment")
        or resource.get("deployment.environment") or "default",
        release=a.get("langfuse.release") or resource.get("langfuse.release"),
        userId=a.get("user.id") or a.get("langfuse.user.id"),
        sessionId=a.get("session.id") or a.get("langfuse.session.id"),
        tags=_tags(a.get("langfuse.trace.tags")),
        traceName=a.get("langfuse.trace.name") or (span.name if span.parent_span_id is None else None),
        input=raw_io(_first(a, _INPUT_KEYS)), output=raw_io(_first(a, _OUTPUT_KEYS)),
        metadata=_metadata(a), providedModelName=model, modelParameters=_model_parameters(a),
        usageDetails=usage, costDetails=cost, totalCost=cost.get("total") if cost else None,
        promptName=a.get("langfuse.observation.prompt.name"),
        promptVersion=int(prompt_version) if prompt_version is not None else None,
    )
    record.update(model_prices(model))
    return with_metrics(record)
