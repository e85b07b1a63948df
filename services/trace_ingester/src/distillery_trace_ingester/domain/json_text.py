"""Langfuse returns some fields as JSON values and others as JSON text: one reading of both."""

from __future__ import annotations

import json
from typing import Any


def json_or_text(value: Any) -> Any:
    """``value`` decoded when it is JSON text; other values, and text that is not JSON, as they are.

    Each caller decides what plain text means for its field: kept, wrapped or refused.
    """
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
