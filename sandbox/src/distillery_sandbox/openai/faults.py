"""Injected failures for testing clients: 429 with Retry-After and 5xx, per path.

Each rule counts the API requests whose path starts with its prefix and answers every
`every`-th of them with `status` instead of serving it. Off until a rule is added.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

ALLOWED_STATUSES = (429, 500, 502, 503)


@dataclass(frozen=True)
class FaultRule:
    """Answer every `every`-th request under `path_prefix` ("" = every API path) with
    `status`. A 429 carries `Retry-After` (whole seconds, rounded up) and
    `retry-after-ms`, from `retry_after_seconds`."""

    status: int
    every: int
    path_prefix: str = ""
    retry_after_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.status not in ALLOWED_STATUSES:
            raise ValueError(f"fault status {self.status} not supported; use {ALLOWED_STATUSES}")
        if self.every < 1:
            raise ValueError("a fault rule needs every >= 1 (1 = every request)")
        if self.retry_after_seconds < 0:
            raise ValueError("retry_after_seconds must not be negative")
        if self.path_prefix and not self.path_prefix.startswith("/"):
            raise ValueError(f"path_prefix {self.path_prefix!r} must start with '/'")

    def headers(self) -> dict[str, str]:
        if self.status != 429:
            return {}
        return {
            "Retry-After": str(math.ceil(self.retry_after_seconds)),
            "retry-after-ms": str(int(self.retry_after_seconds * 1000)),
        }


@dataclass
class Faults:
    """The active rules and their request counters (thread-safe)."""

    rules: list[FaultRule] = field(default_factory=list)
    _counts: dict[int, int] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def hit(self, path: str) -> FaultRule | None:
        """Count one request to `path`; the rule that fails it, if any (first rule wins)."""
        chosen = None
        with self._lock:
            for index, rule in enumerate(self.rules):
                if path.startswith(rule.path_prefix):
                    self._counts[index] = self._counts.get(index, 0) + 1
                    if chosen is None and self._counts[index] % rule.every == 0:
                        chosen = rule
        return chosen

    def replace(self, rules: list[FaultRule]) -> None:
        """Swap in new rules; every counter restarts."""
        with self._lock:
            self.rules = list(rules)
            self._counts.clear()

    def settings(self) -> dict[str, Any]:
        return {"rules": [rule.__dict__ for rule in self.rules]}

    @staticmethod
    def rules_from(payload: Any) -> list[FaultRule]:
        """Rules from a JSON body `{"rules": [{"status": 429, "every": 3, ...}]}`."""
        if not isinstance(payload, dict) or not isinstance(payload.get("rules"), list):
            raise ValueError('expected {"rules": [{"status": 429, "every": 3, "path_prefix": ...}]}')
        rules = []
        for item in payload["rules"]:
            if not isinstance(item, dict):
                raise ValueError("each rule must be an object")
            unknown = set(item) - {"status", "every", "path_prefix", "retry_after_seconds"}
            if unknown:
                raise ValueError(f"unknown fault rule field(s) {sorted(unknown)}")
            rules.append(FaultRule(**item))
        return rules
