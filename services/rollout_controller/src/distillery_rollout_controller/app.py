"""The rollout-controller service: what it consumes, its evaluation loop and its HTTP API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from starlette.routing import BaseRoute

from distillery_contracts.registry import (
    COMMANDS_ROLLOUT,
    EVALUATIONS_COMPLETED,
    EVALUATIONS_ONLINE,
    TRACES_RAW,
    get_topic,
)
from distillery_contracts.commands import RolloutCommand
from distillery_contracts.evaluations import CallScored, EvaluationCompleted
from distillery_contracts.traces import TraceCaptured
from distillery_rollout_controller import __version__
from distillery_rollout_controller.config import RolloutSettings
from distillery_rollout_controller.handlers import Handlers, sql_repository
from distillery_rollout_controller.http import api_routes
from distillery_rollout_controller.jobs import EvaluationLoop
from distillery_rollout_controller.services import RolloutController, utcnow
from distillery_runtime.consumer import E, BatchHandler, Subscription
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.service import ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings

NAME = "rollout-controller"
SCHEMA = "rollout_controller"


def build(settings: RuntimeSettings, rollout: RolloutSettings | None = None,
          clock: Callable[[], datetime] = utcnow) -> ServiceSpec:
    """The service; ``rollout`` defaults to the ``DISTILLERY_ROLLOUT_*`` environment."""
    rollout = rollout or load_settings(RolloutSettings)
    controller = RolloutController(rollout.controller_config(), clock)
    loop = EvaluationLoop(controller, sql_repository, rollout.evaluate_interval_s)
    handlers = Handlers(controller, sql_repository, wake=loop.wake)

    def routes(ctx: ServiceContext) -> Sequence[BaseRoute]:
        return api_routes(ctx.sessions, controller.config, clock, rollout.route_cache_s)

    return ServiceSpec(
        name=NAME,
        version=__version__,
        schema=SCHEMA,
        migrations_dir=Path(__file__).parent / "migrations",
        subscriptions=[
            _subscription(EVALUATIONS_COMPLETED, EvaluationCompleted, handlers.on_evaluation_completed),
            _subscription(EVALUATIONS_ONLINE, CallScored, handlers.on_call_scored),
            _subscription(TRACES_RAW, TraceCaptured, handlers.on_trace_captured),
            _subscription(COMMANDS_ROLLOUT, RolloutCommand, handlers.on_rollout_command),
        ],
        background=[loop.run_evaluations],
        routes=routes,
        extra={"controller": controller, "evaluation_loop": loop},
    )


def _subscription(topic: str, event: type[E], handler: BatchHandler[E]) -> Subscription[E]:
    """One consumer group per topic: four topics in one group would rebalance each other on
    every start (all members stop while one joins), delaying operator commands for seconds."""
    stream = topic.removeprefix("distillery.").rsplit(".v", 1)[0]
    return Subscription(get_topic(topic), event, handler, group=f"distillery.{NAME}.{stream}")
