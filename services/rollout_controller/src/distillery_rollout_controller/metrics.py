"""Prometheus metrics of the rollout-controller, served at /metrics with the runtime's."""

from __future__ import annotations

from prometheus_client import Counter

COMMANDS_REFUSED = Counter(
    "distillery_rollout_commands_refused_total",
    "Rollout commands refused before acting: unsigned, unknown key, bad signature, requested_by not the "
    "signer, or a force without the operator role (each is also dead-lettered with its reason)",
    ["command", "why"],
)
