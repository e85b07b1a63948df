"""Model parameters, token usage, cost and timings of a generation, as Langfuse records them."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from distillery_trace_ingester.domain.errors import UnmappableObservation
from distillery_trace_ingester.domain.json_text import json_or_text

_NO_VALUE = {"", "none", "null", "undefined"}
_UNLIMITED = {"inf", "infinity", "+inf"}
_TOKEN_LIMIT_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def model_parameters(raw: Any) -> dict[str, Any]:
    """Langfuse keeps parameter values as strings ("256", "0.3", "inf"): read them back.

    A value that does not fit its typed field (a negative max_tokens, say) stays in
    ``extra`` under its own name rather than being dropped. Like the other readers here
    it returns the fields of the contract's model; the event validates them all at once.
    """
    if raw is None:
        return {}
    raw = json_or_text(raw)
    if isinstance(raw, str):
        raise UnmappableObservation("modelParameters is text that is not a JSON object")
    if not isinstance(raw, dict):
        raise UnmappableObservation("modelParameters is not an object")
    values = {str(k): _parameter_value(v) for k, v in raw.items()}
    values = {k: v for k, v in values.items() if v is not None}
    limit_key = next((k for k in _TOKEN_LIMIT_KEYS if k in values), None)
    max_tokens = _positive_int(values.get(limit_key)) if limit_key else None
    temperature = _bounded(values.get("temperature"), 0.0, None)
    top_p = _bounded(values.get("top_p"), 0.0, 1.0)
    typed = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p}
    # max_completion_tokens stays in extra too: which request field was used is worth keeping.
    extra = {k: v for k, v in values.items() if typed.get(k) is None}
    return {**typed, "extra": extra}


def _parameter_value(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _NO_VALUE or text.lower() in _UNLIMITED:
            return None  # "inf" is how the SDK records "no limit given"
        if text in ("True", "False"):
            return text == "True"
        value = json_or_text(text)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != int(value) or value < 1:
        return None
    return int(value)


def _bounded(value: Any, low: float, high: float | None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value < low or (high is not None and value > high):
        return None
    return float(value)


def usage(details: Any) -> dict[str, Any]:
    """Token counts from ``usageDetails``.

    Langfuse splits usage into keys such as ``input``, ``input_cached_tokens`` and
    ``output_reasoning_tokens`` and sums every ``input*`` (``output*``) key for the input
    (output) total; the same rule is used here so the figures match its UI.
    """
    counts = _numbers(details, "usageDetails")
    if not counts:
        return {}
    inputs = _sum(counts, "input") if _has(counts, "input") else counts.get("prompt_tokens")
    outputs = _sum(counts, "output") if _has(counts, "output") else counts.get("completion_tokens")
    total = counts.get("total", counts.get("total_tokens"))
    if total is None and inputs is not None and outputs is not None:
        total = inputs + outputs
    cached = [v for k, v in counts.items() if k.startswith("input") and ("cached" in k or "cache_read" in k)]
    return {"input_tokens": _int(inputs), "output_tokens": _int(outputs), "total_tokens": _int(total),
            "cached_input_tokens": _int(sum(cached)) if cached else None}


def cost(details: Any, total_cost: Any) -> dict[str, Any]:
    """Cost in USD from ``costDetails`` (same key rule as usage), else ``totalCost``."""
    amounts = _numbers(details, "costDetails")
    inputs = _sum(amounts, "input") if _has(amounts, "input") else None
    outputs = _sum(amounts, "output") if _has(amounts, "output") else None
    total = amounts.get("total")
    if total is None and isinstance(total_cost, int | float) and not isinstance(total_cost, bool):
        total = float(total_cost) if total_cost >= 0 else None
    if total is None and inputs is not None and outputs is not None:
        total = inputs + outputs
    return {"input_usd": inputs, "output_usd": outputs, "total_usd": total}


def _numbers(details: Any, field: str) -> dict[str, float]:
    if details is None:
        return {}
    if not isinstance(details, dict):
        raise UnmappableObservation(f"{field} is not an object of numbers")
    return {
        str(k).lower(): float(v) for k, v in details.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
    }


def _has(values: dict[str, float], prefix: str) -> bool:
    return any(k.startswith(prefix) for k in values)


def _sum(values: dict[str, float], prefix: str) -> float:
    return sum(v for k, v in values.items() if k.startswith(prefix))


def _int(value: float | None) -> int | None:
    return None if value is None else int(round(value))


def parse_time(value: Any, field: str, *, required: bool = False) -> datetime | None:
    """An API timestamp ("2026-03-02T08:00:00.123Z") or an export one (UTC, no zone)."""
    if value is None or value == "":
        if required:
            raise UnmappableObservation(f"{field} is missing")
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UnmappableObservation(f"{field} is not an ISO 8601 timestamp") from None
    else:
        raise UnmappableObservation(f"{field} is not a timestamp")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def elapsed_ms(start: datetime, end: datetime | None, fallback_s: Any = None) -> float | None:
    """Milliseconds from start to end; Langfuse's own seconds figure when a stamp is missing.

    A negative span (clock skew between recorders) is no measurement at all: None.
    """
    if end is not None:
        span = (end - start).total_seconds() * 1000.0
        return span if span >= 0 else None
    if isinstance(fallback_s, int | float) and not isinstance(fallback_s, bool) and fallback_s >= 0:
        return float(fallback_s) * 1000.0
    return None
