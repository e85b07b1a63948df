"""Prometheus metrics every service exposes at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "distillery_messages_consumed_total", "Messages read from a topic", ["service", "topic"]
)
MESSAGES_APPLIED = Counter(
    "distillery_messages_applied_total", "Messages whose handler committed", ["service", "topic"]
)
MESSAGES_DUPLICATE = Counter(
    "distillery_messages_duplicate_total", "Redelivered messages skipped by the inbox", ["service", "topic"]
)
MESSAGES_DEAD_LETTERED = Counter(
    "distillery_messages_dead_lettered_total", "Messages sent to a dead-letter topic", ["service", "topic", "reason"]
)
MESSAGES_SKIPPED = Counter(
    "distillery_messages_skipped_total", "Messages of an event type the subscription does not apply",
    ["service", "topic"]
)
HANDLER_RETRIES = Counter(
    "distillery_handler_retries_total", "Handler attempts that failed and were retried", ["service", "topic"]
)
BATCH_SECONDS = Histogram(
    "distillery_batch_seconds", "Time to process one consumed batch", ["service", "topic"]
)
OUTBOX_PUBLISHED = Counter(
    "distillery_outbox_published_total", "Events published from the outbox", ["service"]
)
EVENTS_TOO_LARGE = Counter(
    "distillery_events_too_large_total",
    "Events over DISTILLERY_MAX_EVENT_BYTES or the broker's limit: refused at emit (stage emit), "
    "moved out of the outbox (relay), or dead letters the broker refused, sent again with the "
    "message cut short (dead_letter)",
    ["service", "topic", "stage"],
)
READY = Gauge("distillery_ready", "1 when the service is ready", ["service"])
ROWS_DELETED = Counter(
    "distillery_rows_deleted_total", "Rows deleted past their retention, by the worker that deleted them",
    ["service", "worker"],
)
WORKER_FAILURES = Counter(
    "distillery_worker_failures_total", "Background steps that failed and were retried", ["service", "worker"]
)
