"""The finetune-controller service: consumers, the worker, and how they are wired."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from distillery_contracts.registry import COMMANDS_FINETUNE, DATASETS_BUILT, ROLLOUT_DECISIONS, get_topic
from distillery_contracts.commands import CancelJob
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.rollout import RolloutDecided
from distillery_finetune_controller import __version__
from distillery_finetune_controller.adapters.providers.base import AbstractFineTuneProvider
from distillery_finetune_controller.adapters.providers.factory import build_provider
from distillery_finetune_controller.adapters.registry_repository import SqlModelRegistry
from distillery_finetune_controller.adapters.repository import SqlJobRepository
from distillery_finetune_controller.config import FinetuneSettings, load_finetune_settings
from distillery_finetune_controller.handlers import FinetuneHandlers
from distillery_finetune_controller.worker.loop import worker_job
from distillery_runtime.consumer import Subscription
from distillery_runtime.service import ServiceSpec
from distillery_runtime.settings import RuntimeSettings

NAME = "finetune-controller"
SCHEMA = "finetune_controller"
GROUP = f"distillery.{NAME}"


def build(settings: RuntimeSettings, finetune: FinetuneSettings | None = None,
          provider_factory: Callable[[FinetuneSettings], AbstractFineTuneProvider] = build_provider) -> ServiceSpec:
    """The service; ``finetune`` defaults to the DISTILLERY_FINETUNE_* environment."""
    config = finetune if finetune is not None else load_finetune_settings()
    config.check()
    handlers = FinetuneHandlers(config, jobs_in=lambda uow: SqlJobRepository(uow.session),
                                registry_in=lambda uow: SqlModelRegistry(uow.session))
    return ServiceSpec(
        name=NAME,
        version=__version__,
        schema=SCHEMA,
        migrations_dir=Path(__file__).parent / "migrations",
        subscriptions=[
            Subscription(topic=get_topic(DATASETS_BUILT), event=DatasetBuilt, handler=handlers.on_dataset_built, batch_size=50,
                         group=f"{GROUP}.datasets"),
            Subscription(topic=get_topic(COMMANDS_FINETUNE), event=CancelJob, handler=handlers.on_cancel_job, batch_size=50,
                         group=f"{GROUP}.commands"),
            Subscription(topic=get_topic(ROLLOUT_DECISIONS), event=RolloutDecided, handler=handlers.on_rollout_decided, batch_size=100,
                         group=f"{GROUP}.decisions"),
        ],
        background=[worker_job(config, provider_factory)],
    )
