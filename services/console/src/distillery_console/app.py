"""The console's composition root: the topics it reads into its read model, and its pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from starlette.routing import BaseRoute

import distillery_console
from distillery_console import NAME, SCHEMA
from distillery_console.adapters.store import AbstractConsoleStore, SqlConsoleStore
from distillery_console.config import ConsoleSettings
from distillery_console.handlers import Handlers
from distillery_console.http import console_routes
from distillery_console.views import ConsoleViews, sql_stores
from distillery_contracts.commands import RolloutCommand
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.evaluations import EvaluationCompleted, EvaluationItemScored
from distillery_contracts.examples import ExampleRejected
from distillery_contracts.finetune import FinetuneJobChanged
from distillery_contracts.registry import (
    COMMANDS_ROLLOUT,
    DATASETS_BUILT,
    EVALUATIONS_COMPLETED,
    EVALUATIONS_ITEMS,
    EXAMPLES_REJECTED,
    FINETUNE_JOBS,
    ROLLOUT_DECISIONS,
    ROUTING_TABLE,
    get_topic,
)
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.clock import utc_now
from distillery_runtime.consumer import E, BatchHandler, Subscription
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.service import ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork

__all__ = ["NAME", "SCHEMA", "build"]


def build(settings: RuntimeSettings, console: ConsoleSettings | None = None,
          clock: Callable[[], datetime] = utc_now) -> ServiceSpec:
    """The service; ``console`` defaults to the ``DISTILLERY_CONSOLE_*`` environment."""
    console = console or load_settings(ConsoleSettings)
    signers = console.signers()
    handlers = Handlers(sql_store)
    sub = partial(_subscription, console.read_model)

    def routes(ctx: ServiceContext) -> Sequence[BaseRoute]:
        views = ConsoleViews(sql_stores(ctx.sessions), console.calls_per_day, console.page_size)
        return console_routes(views, ctx.new_uow, clock, console.refresh_s, console.langfuse_host,
                              signers)

    return ServiceSpec.of(
        distillery_console,
        subscriptions=[
            sub(ROUTING_TABLE, RouteTableUpdated, handlers.on_route_table_updated),
            sub(DATASETS_BUILT, DatasetBuilt, handlers.on_dataset_built),
            sub(FINETUNE_JOBS, FinetuneJobChanged, handlers.on_finetune_job_changed),
            sub(EVALUATIONS_COMPLETED, EvaluationCompleted, handlers.on_evaluation_completed),
            sub(EVALUATIONS_ITEMS, EvaluationItemScored, handlers.on_evaluation_item_scored),
            sub(ROLLOUT_DECISIONS, RolloutDecided, handlers.on_rollout_decided),
            sub(EXAMPLES_REJECTED, ExampleRejected, handlers.on_example_rejected),
            sub(COMMANDS_ROLLOUT, RolloutCommand, handlers.on_rollout_command),
        ],
        routes=routes,
        public_routes=True,  # pages people open in a browser; /metrics still needs a bearer token
    )


def sql_store(uow: UnitOfWork) -> AbstractConsoleStore:
    """The store of one unit of work, in its transaction."""
    return SqlConsoleStore(uow.session)


def _subscription(read_model: str, topic: str, event: type[E], handler: BatchHandler[E]) -> Subscription[E]:
    """One consumer group per topic and read model, read from the earliest offset on its first
    start: a new read model is the replay of every topic."""
    stream = topic.removeprefix("distillery.").rsplit(".v", 1)[0]
    return Subscription(get_topic(topic), event, handler, group=f"distillery.{NAME}.{read_model}.{stream}")
