"""Prometheus metrics of the console, served at /metrics with the runtime's."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Gauge

from distillery_runtime.model_calendar import ServingNotice, TrainingNotice

ROUTED_MODEL_SHUTDOWN_DAYS = Gauge(
    "distillery_routed_model_shutdown_days",
    "Days until a model a routing table sends calls to shuts down by the calendar (0 or less: it has), one "
    "series per route and arm; an arm whose model has no known shutdown day has none. Alert on it, e.g. < 30.",
    ["route", "arm", "model", "provider"],
)


def show_shutdowns(notices: Iterable[ServingNotice]) -> None:
    """Replace the gauge's series with these: an arm that stopped getting calls loses its series."""
    ROUTED_MODEL_SHUTDOWN_DAYS.clear()
    for n in notices:
        ROUTED_MODEL_SHUTDOWN_DAYS.labels(n.route, n.arm, n.model, n.provider).set(n.days_left)

TRAINING_DAYS_LEFT = Gauge(
    "distillery_training_days_left",
    "Days the lifecycle guard still accepts new jobs for the base model the latest job trained, by the "
    "calendar and the minimum service life (below 0: it refuses them); no series when no day is known.",
    ["base_model", "provider"],
)


def show_training(notice: TrainingNotice | None) -> None:
    TRAINING_DAYS_LEFT.clear()
    if notice is not None:
        TRAINING_DAYS_LEFT.labels(notice.base_model, notice.provider).set(notice.days_left)

