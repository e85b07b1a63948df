"""The rollout-controller's composition root: what it consumes, its evaluation worker and its HTTP API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

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
import distillery_rollout_controller
from distillery_rollout_controller import NAME, SCHEMA
from distillery_rollout_controller.adapters.repository import AbstractRolloutRepository, SqlRolloutRepository
from distillery_rollout_controller.config import RolloutSettings
from distillery_rollout_controller.handlers import Handlers, evaluate_live_stage
from distillery_rollout_controller.http import api_routes
from distillery_rollout_controller.services import RolloutController
from distillery_runtime.clock import utc_now
from distillery_runtime.consumer import E, BatchHandler, Subscription
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.service import ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker

__all__ = ["NAME", "SCHEMA", "build"]


def build(settings: RuntimeSettings, rollout: RolloutSettings | None = None,
          clock: Callable[[], datetime] = utc_now) -> ServiceSpec:
    """The service; ``rollout`` defaults to the ``DISTILLERY_ROLLOUT_*`` environment."""
    rollout = rollout or load_settings(RolloutSettings)
    controller = RolloutController(rollout.controller_config(home=settings.home), clock)
    evaluation = Worker(name="rollout-evaluation",
                        step=partial(evaluate_live_stage, controller, sql_repository),
                        interval_s=rollout.evaluate_interval_s, settle_s=0.2)
    handlers = Handlers(controller, sql_repository, wake=evaluation.wake)

    def routes(ctx: ServiceContext) -> Sequence[BaseRoute]:
        return api_routes(ctx.sessions, controller.config, clock, rollout.route_cache_s)

    return ServiceSpec.of(
        distillery_rollout_controller,
        subscriptions=[
            _subscription(EVALUATIONS_COMPLETED, EvaluationCompleted, handlers.on_evaluation_completed),
            _subscription(EVALUATIONS_ONLINE, CallScored, handlers.on_call_scored),
            _subscription(TRACES_RAW, TraceCaptured, handlers.on_trace_captured),
            _subscription(COMMANDS_ROLLOUT, RolloutCommand, handlers.on_rollout_command),
        ],
        background=[evaluation],
        routes=routes,
    )


def sql_repository(uow: UnitOfWork) -> AbstractRolloutRepository:
    """The repository of one unit of work, in its transaction."""
    return SqlRolloutRepository(uow.session)


def _subscription(topic: str, event: type[E], handler: BatchHandler[E]) -> Subscription[E]:
    """One consumer group per topic: four topics in one group would rebalance each other on
    every start (all members stop while one joins), delaying operator commands for seconds."""
    stream = topic.removeprefix("distillery.").rsplit(".v", 1)[0]
    return Subscription(get_topic(topic), event, handler, group=f"distillery.{NAME}.{stream}")
