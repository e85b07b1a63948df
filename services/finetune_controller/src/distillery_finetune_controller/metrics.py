"""Prometheus metrics of the finetune-controller, served at /metrics with the runtime's."""

from __future__ import annotations

from prometheus_client import Counter

JOBS_CHANGED = Counter(
    "distillery_finetune_jobs_changed_total", "Fine-tuning job state changes published", ["provider", "status"]
)
PROVIDER_FAILURES = Counter(
    "distillery_finetune_provider_failures_total",
    "Provider calls that failed: 'retried' (429, 5xx, timeouts) or 'refused' (the job failed)",
    ["provider", "outcome"],
)
