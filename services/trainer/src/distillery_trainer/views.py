"""What the API and the CLI read: files, jobs, events, checkpoints and the base models on offer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from distillery_runtime.uow import UnitOfWork
from distillery_trainer.adapters.store import AbstractTrainerStore, Page
from distillery_trainer.config import TrainerSettings
from distillery_trainer.domain.job import TrainingFile, TrainingJob
from distillery_trainer.services import offered_models


@dataclass
class TrainerViews:
    settings: TrainerSettings
    store_in: Callable[[UnitOfWork], AbstractTrainerStore]
    new_uow: Callable[[], UnitOfWork]

    def models(self) -> list[str]:
        return sorted(offered_models(self.settings))

    async def file(self, file_id: str) -> TrainingFile | None:
        async with self.new_uow() as uow:
            return await self.store_in(uow).get_file(file_id)

    async def job(self, job_id: str) -> TrainingJob | None:
        async with self.new_uow() as uow:
            return await self.store_in(uow).get_job(job_id)

    async def jobs(self, limit: int, after: str | None, metadata: dict[str, str]) -> Page:
        async with self.new_uow() as uow:
            return await self.store_in(uow).jobs(limit, after, metadata)

    async def events(self, job_id: str, limit: int, after: str | None) -> Page:
        async with self.new_uow() as uow:
            return await self.store_in(uow).events(job_id, limit, after)

    async def checkpoints(self, job_id: str, limit: int, after: str | None) -> Page:
        async with self.new_uow() as uow:
            return await self.store_in(uow).checkpoints(job_id, limit, after)
