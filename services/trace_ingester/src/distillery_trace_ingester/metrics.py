"""Prometheus metrics of the ingester, served with the runtime's at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

GENERATIONS = Counter(
    "distillery_ingester_generations_total",
    "Generations read from Langfuse, by what became of them",
    ["project", "outcome"],  # published, dead_lettered, already_published, deferred
)
LATE_SCORES = Counter(
    "distillery_ingester_late_scores_total", "Scores published after their generation", ["project"]
)
UNREADABLE_SCORES = Counter(
    "distillery_ingester_unreadable_scores_total", "Late scores that could not be read", ["project"]
)
WATERMARK_LAG = Gauge(
    "distillery_ingester_watermark_lag_seconds", "How far the watermark is behind now", ["project"]
)
LANGFUSE_REQUESTS = Counter(
    "distillery_ingester_langfuse_requests_total", "Requests to Langfuse by HTTP status", ["project", "status"]
)
LANGFUSE_RETRIES = Counter(
    "distillery_ingester_langfuse_retries_total", "Langfuse requests retried, by cause", ["project", "cause"]
)
