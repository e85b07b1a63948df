"""The console's composition root: the topics it reads into its read model, and its pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import partial

from starlette.routing import BaseRoute

import distillery_console
from distillery_console import NAME, SCHEMA
from distillery_console import services
from distillery_console.adapters.data_store import AbstractDataStore, SqlDataStore
from distillery_console.adapters.erasure_store import SqlErasureStore
from distillery_console.adapters.health import HealthBoard, LiveHealthProbe
from distillery_console.adapters.store import AbstractConsoleStore, SqlConsoleStore
from distillery_console.config import ConsoleSettings
from distillery_console.data_views import DataViews, sql_data_stores
from distillery_console.domain.shutdowns import DailyWarnings
from distillery_console.handlers import Handlers
from distillery_console.http import console_routes, signed_in
from distillery_console.metrics import show_shutdowns, show_training
from distillery_console.views import ConsoleViews, sql_stores
from distillery_contracts.commands import RolloutCommand
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.evaluations import EvaluationCompleted, EvaluationItemScored
from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.examples import ExampleAccepted, ExampleRejected
from distillery_contracts.finetune import FinetuneJobChanged
from distillery_contracts.registry import (
    COMMANDS_ROLLOUT,
    DATASETS_BUILT,
    EVALUATIONS_COMPLETED,
    EVALUATIONS_ITEMS,
    EXAMPLES_ACCEPTED,
    EXAMPLES_REJECTED,
    FINETUNE_JOBS,
    ROLLOUT_DECISIONS,
    ROUTING_TABLE,
    TOPICS,
    get_topic,
)
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.auth import BrowserSessions
from distillery_runtime.clock import utc_now
from distillery_runtime.consumer import E, BatchHandler, Subscription
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.erasure import AbstractErasureStore, erasure_subscription
from distillery_runtime.errors import ConfigError
from distillery_runtime.logs import get_logger
from distillery_runtime.model_calendar import ShutdownWatch
from distillery_runtime.retention import pruning_worker
from distillery_runtime.service import ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker

__all__ = ["NAME", "SCHEMA", "build"]

log = get_logger(__name__)


def build(settings: RuntimeSettings, console: ConsoleSettings | None = None,
          clock: Callable[[], datetime] = utc_now) -> ServiceSpec:
    """The service; ``console`` defaults to the ``DISTILLERY_CONSOLE_*`` environment."""
    console = console or load_settings(ConsoleSettings)
    signers = console.signers()
    handlers = Handlers(sql_store, sql_data_store, sql_erasure_store)
    sub = partial(_subscription, console.read_model)
    board = HealthBoard(LiveHealthProbe(console.health_targets(), settings.kafka_bootstrap))
    watch = console.watch(clock)

    def routes(ctx: ServiceContext) -> Sequence[BaseRoute]:
        views = ConsoleViews(sql_stores(ctx.sessions), console.calls_per_day, console.page_size, watch)
        data = DataViews(sql_data_stores(ctx.sessions), console.page_size, console.langfuse_host)
        sessions = BrowserSessions(ctx.settings.accepted_tokens(), console.session_hours * 3600)
        return signed_in(console_routes(views, ctx.new_uow, clock, console.refresh_s, console.langfuse_host,
                                        signers, data=data, data_store=sql_data_store, health=board), sessions)

    return ServiceSpec.of(
        distillery_console,
        subscriptions=[
            sub(ROUTING_TABLE, RouteTableUpdated, handlers.on_route_table_updated),
            sub(DATASETS_BUILT, DatasetBuilt, handlers.on_dataset_built),
            sub(FINETUNE_JOBS, FinetuneJobChanged, handlers.on_finetune_job_changed),
            sub(EVALUATIONS_COMPLETED, EvaluationCompleted, handlers.on_evaluation_completed),
            sub(EVALUATIONS_ITEMS, EvaluationItemScored, handlers.on_evaluation_item_scored),
            sub(ROLLOUT_DECISIONS, RolloutDecided, handlers.on_rollout_decided),
            sub(EXAMPLES_ACCEPTED, ExampleAccepted, handlers.on_example_accepted),
            sub(EXAMPLES_REJECTED, ExampleRejected, handlers.on_example_rejected),
            sub(COMMANDS_ROLLOUT, RolloutCommand, handlers.on_rollout_command),
            *[sub(f"{topic}.dlq", DeadLettered, handlers.on_dead_lettered)
              for topic in _dead_letter_topics(console)],
            erasure_subscription(NAME, handlers.on_erase_caller),
        ],
        background=[_retention(console, settings, clock), _health(board, console, clock),
                    _shutdowns(watch, console.health_interval_s)],
        routes=routes,
        # Pages people open in a browser: they take a session cookie or a bearer token (signed_in);
        # /metrics still takes only the token.
        public_routes=True,
    )


def sql_data_store(uow: UnitOfWork) -> AbstractDataStore:
    return SqlDataStore(uow.session)


def sql_erasure_store(uow: UnitOfWork) -> AbstractErasureStore:
    return SqlErasureStore(uow.session)


def _dead_letter_topics(console: ConsoleSettings) -> list[str]:
    unknown = sorted(set(console.dead_letter_topics) - set(TOPICS))
    if unknown:
        raise ConfigError(f"DISTILLERY_CONSOLE_DEAD_LETTER_TOPICS: no topic {', '.join(unknown)}")
    return console.dead_letter_topics or list(TOPICS)


def _retention(console: ConsoleSettings, settings: RuntimeSettings, clock: Callable[[], datetime]) -> Worker:
    """The tables that can hold a caller's words, each kept for its own number of days."""
    retention = {"eval_items": timedelta(days=console.item_retention_days),
                 "examples": timedelta(days=console.example_retention_days),
                 "dead_letters": timedelta(days=console.dead_letter_retention_days)}

    async def prune(uow: UnitOfWork, limit: int) -> int:
        return await services.forget_old_rows(sql_data_store(uow), clock(), retention, limit)

    return pruning_worker("forget_old_rows", prune, settings)


def _health(board: HealthBoard, console: ConsoleSettings, clock: Callable[[], datetime]) -> Worker:
    async def step(_: ServiceContext) -> bool:
        await board.refresh(clock())
        return False

    return Worker("probe_health", step, max(console.refresh_s, console.health_interval_s))


def _shutdowns(watch: ShutdownWatch, interval_s: float) -> Worker:
    """The gauges of routed models' shutdown days and of the trained base model's last training
    day, and a warning in the log once a day for each inside the notice period: what reaches an
    operator who never opens the page."""
    warnings = DailyWarnings()

    def warn_once(key: str, today: date, message: str, **fields: object) -> None:
        if warnings.due(key, today):
            log.warning(message, **fields)

    async def step(ctx: ServiceContext) -> bool:
        async with ctx.new_uow() as uow:
            known, training = await services.lifecycle_outlook(sql_store(uow), watch)
        show_shutdowns(known)
        show_training(training)
        today = watch.clock().date()
        for n in known:
            if n.days_left <= watch.horizon_days:
                warn_once(f"{n.route}/{n.arm}/{n.model}", today, "a routed model is going away", route=n.route,
                          arm=n.arm, model=n.model, shutdown=str(n.shutdown), days_left=n.days_left, advice=n.text)
        if training is not None and training.days_left <= watch.horizon_days:
            warn_once(f"training/{training.provider}/{training.base_model}", today,
                      "the lifecycle guard will refuse the trained base model", base_model=training.base_model,
                      provider=training.provider, last_day=str(training.last_day), days_left=training.days_left,
                      advice=training.text)
        return False

    return Worker("watch_shutdowns", step, interval_s)


def sql_store(uow: UnitOfWork) -> AbstractConsoleStore:
    """The store of one unit of work, in its transaction."""
    return SqlConsoleStore(uow.session)


def _subscription(read_model: str, topic: str, event: type[E], handler: BatchHandler[E]) -> Subscription[E]:
    """One consumer group per topic and read model, read from the earliest offset on its first
    start: a new read model is the replay of every topic."""
    stream = topic.removeprefix("distillery.").replace(".dlq", "").rsplit(".v", 1)[0]
    stream += ".dlq" if topic.endswith(".dlq") else ""
    return Subscription(get_topic(topic), event, handler, group=f"distillery.{NAME}.{read_model}.{stream}")
