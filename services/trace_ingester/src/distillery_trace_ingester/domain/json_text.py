"""Langfuse returns some fields as JSON values and others as JSON text: one reading of both."""

from __future__ import annotations

import json
from typing import Any

from distillery_trace_ingester.domain.errors import UnmappableObservation, readable


def loads(text: str) -> Any:
    """JSON text decoded, its text made safe; raises json.JSONDecodeError when it is not JSON.

    Input, output, metadata and parameters often come as JSON inside a string, so their
    escapes (``\\ud83d``, ``\\u0000``) only appear here: this is an edge of its own.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnmappableObservation("JSON text nested too deeply to read") from None
    return readable(value)


def json_or_text(value: Any) -> Any:
    """``value`` decoded when it is JSON text; other values, and text that is not JSON, as they are.

    Each caller decides what plain text means for its field: kept, wrapped or refused.
    """
    if not isinstance(value, str):
        return value
    try:
        return loads(value)
    except json.JSONDecodeError:
        return value
