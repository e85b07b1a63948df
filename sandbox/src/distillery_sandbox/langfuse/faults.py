"""Injected failures, for testing clients: rate limits, server errors, malformed items.

All off by default. Request counting covers the public API (not health, not /sandbox/).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from distillery_sandbox.checks import require_not_negative

MALFORMED_KINDS = ("input_not_messages", "input_not_json", "output_not_message",
                   "missing_model", "missing_usage")
"""Ways a chosen observation can be served broken (it still fits the response schema)."""


@dataclass
class Faults:
    """What to break. `rate_limit_every=3` answers every third API request with 429 and
    `Retry-After: retry_after_seconds`; `server_error_every=N` answers every Nth with
    500 (a request both would hit gets the 429). `malformed` maps observation ids to one
    of MALFORMED_KINDS: those observations are served broken in v2 observations."""

    rate_limit_every: int = 0
    retry_after_seconds: int = 1
    server_error_every: int = 0
    malformed: dict[str, str] = field(default_factory=dict)
    _requests: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        require_not_negative(self, ("rate_limit_every", "server_error_every", "retry_after_seconds"))
        unknown = {kind for kind in self.malformed.values() if kind not in MALFORMED_KINDS}
        if unknown:
            raise ValueError(f"unknown malformed kind(s) {sorted(unknown)}; use {MALFORMED_KINDS}")

    def next_request(self) -> int | None:
        """Count one API request; the status to answer instead of serving it, if any."""
        with self._lock:
            self._requests += 1
            number = self._requests
        if self.rate_limit_every and number % self.rate_limit_every == 0:
            return 429
        if self.server_error_every and number % self.server_error_every == 0:
            return 500
        return None

    def update(self, settings: dict[str, Any]) -> None:
        """Change the settings at run time (from POST /sandbox/v1/faults); counts restart."""
        allowed = {"rate_limit_every", "retry_after_seconds", "server_error_every", "malformed"}
        if not isinstance(settings, dict):
            raise ValueError("fault settings must be a JSON object")
        unknown = set(settings) - allowed
        if unknown:
            raise ValueError(f"unknown fault setting(s) {sorted(unknown)}; use {sorted(allowed)}")
        candidate = Faults(**{name: settings.get(name, getattr(self, name)) for name in allowed})
        with self._lock:
            self.rate_limit_every = candidate.rate_limit_every
            self.retry_after_seconds = candidate.retry_after_seconds
            self.server_error_every = candidate.server_error_every
            self.malformed = dict(candidate.malformed)
            self._requests = 0

    def settings(self) -> dict[str, Any]:
        return {"rate_limit_every": self.rate_limit_every,
                "retry_after_seconds": self.retry_after_seconds,
                "server_error_every": self.server_error_every, "malformed": dict(self.malformed)}


def break_observation(rendered: dict[str, Any], kind: str) -> dict[str, Any]:
    """A rendered observation damaged the way `kind` says."""
    broken = dict(rendered)
    if kind == "input_not_messages":
        broken["input"] = "caller audio transcript unavailable"
    elif kind == "input_not_json":
        text = rendered.get("input") or '[{"role": "user", "content": "hello"}]'
        broken["input"] = text[: max(1, len(text) // 2)]
    elif kind == "output_not_message":
        broken["output"] = json.dumps(42)
    elif kind == "missing_model":
        for name in ("providedModelName", "model", "modelParameters"):
            broken.pop(name, None)
    elif kind == "missing_usage":
        broken.pop("usageDetails", None)
        broken.pop("costDetails", None)
    return broken
