"""The finetune-controller service: its consumers and its worker, wired to their stores."""

from __future__ import annotations

from collections.abc import Callable

from distillery_contracts.commands import CancelJob
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.registry import COMMANDS_FINETUNE, DATASETS_BUILT, ROLLOUT_DECISIONS, get_topic
from distillery_contracts.rollout import RolloutDecided
import distillery_finetune_controller
from distillery_finetune_controller import NAME, SCHEMA
from distillery_finetune_controller.adapters.job_store import AbstractJobStore, SqlJobStore
from distillery_finetune_controller.adapters.model_store import AbstractModelStore, SqlModelStore
from distillery_finetune_controller.adapters.providers.base import AbstractFineTuneProvider
from distillery_finetune_controller.adapters.providers.factory import build_provider
from distillery_finetune_controller.config import FinetuneSettings, ProviderKind
from distillery_finetune_controller.handlers import Handlers
from distillery_finetune_controller.services import LEADER, JobContext
from distillery_runtime.consumer import Subscription
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.service import ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker

__all__ = ["NAME", "SCHEMA", "build"]

GROUP = f"distillery.{NAME}"
WORKER_LOCK = LEADER
"""One instance at a time talks to the provider; when it dies another resumes its jobs (and the
fencing token it takes makes whatever the old leader still tries to save fail)."""


def sql_jobs(uow: UnitOfWork) -> AbstractJobStore:
    return SqlJobStore(uow.session)


def sql_models(uow: UnitOfWork) -> AbstractModelStore:
    return SqlModelStore(uow.session)


def build(settings: RuntimeSettings, finetune: FinetuneSettings | None = None,
          provider_factory: Callable[[FinetuneSettings, ProviderKind], AbstractFineTuneProvider] = build_provider,
          ) -> ServiceSpec:
    """The service; ``finetune`` defaults to the DISTILLERY_FINETUNE_* environment."""
    config = finetune if finetune is not None else load_settings(FinetuneSettings)
    config.check()
    handlers = Handlers(config, jobs_in=sql_jobs, registry_in=sql_models)
    primary = provider_factory(config, config.provider)
    fallback = provider_factory(config, config.fallback_provider) if config.fallback_provider else None
    jobs = JobContext(primary=primary, fallback=fallback, settings=config, jobs_in=sql_jobs, registry_in=sql_models,
                      datasets=config.datasets_store(settings.home))
    return ServiceSpec.of(
        distillery_finetune_controller,
        subscriptions=[
            Subscription(get_topic(DATASETS_BUILT), DatasetBuilt, handlers.on_dataset_built, batch_size=50,
                         group=f"{GROUP}.datasets"),
            Subscription(get_topic(COMMANDS_FINETUNE), CancelJob, handlers.on_cancel_job, batch_size=50,
                         group=f"{GROUP}.commands"),
            Subscription(get_topic(ROLLOUT_DECISIONS), RolloutDecided, handlers.on_rollout_decided, batch_size=100,
                         group=f"{GROUP}.decisions"),
        ],
        background=[Worker(name="advance-jobs", step=jobs.step, on_lead=jobs.on_lead, lock=WORKER_LOCK,
                           interval_s=config.worker_interval_s)],
    )
