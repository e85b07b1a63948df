"""The trainer's composition root: OpenAI's fine-tuning API over HTTP and the training worker."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from starlette.routing import BaseRoute

import distillery_trainer
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.service import ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker
from distillery_trainer.adapters.runner import AbstractTrainingRunner, StudentRunner
from distillery_trainer.adapters.store import AbstractTrainerStore, SqlTrainerStore
from distillery_trainer.config import TrainerSettings
from distillery_trainer.http import api_routes
from distillery_trainer.services import Trainer
from distillery_trainer.views import TrainerViews

__all__ = ["build"]


def build(settings: RuntimeSettings, trainer_settings: TrainerSettings | None = None,
          runner: AbstractTrainingRunner | None = None) -> ServiceSpec:
    """The service; ``trainer_settings`` default to the ``DISTILLERY_TRAINER_*`` environment."""
    config = trainer_settings or load_settings(TrainerSettings)
    home = Path(settings.home)
    blobs = config.open_blob_store(config.blob_dir(home))
    trainer = Trainer(config, blobs, runner or StudentRunner(config.model_cache), sql_store,
                      config.work_root(home), new_uow=_unbound)

    def routes(ctx: ServiceContext) -> Sequence[BaseRoute]:
        trainer.new_uow = ctx.new_uow
        views = TrainerViews(config, sql_store, ctx.new_uow)
        return api_routes(trainer, views, config.api_key.get_secret_value() if config.api_key else None)

    async def step(ctx: ServiceContext) -> bool:
        trainer.new_uow = ctx.new_uow
        return await trainer.step(ctx)

    worker = Worker(name="trainer", step=step, interval_s=config.worker_interval_s)
    keys = [config.api_key.get_secret_value()] if config.api_key else []
    return ServiceSpec.of(distillery_trainer, background=[worker], routes=routes, api_tokens=keys)


def sql_store(uow: UnitOfWork) -> AbstractTrainerStore:
    """The store of one unit of work, in its transaction."""
    return SqlTrainerStore(uow.session)


def _unbound() -> UnitOfWork:
    raise RuntimeError("the trainer has no units of work before the service starts")
