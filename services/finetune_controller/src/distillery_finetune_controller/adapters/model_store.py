"""The model registry's storage: every fine-tuned model this controller produced."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_contracts.finetune import JobMetrics
from distillery_finetune_controller.adapters.tables import models
from distillery_finetune_controller.domain.registry import ModelStatus, RegisteredModel, StatusChange


class AbstractModelStore(abc.ABC):
    """The model registry: every fine-tuned model this controller produced, and its status."""

    @abc.abstractmethod
    async def register(self, model: RegisteredModel) -> bool:
        """Add a model as a candidate; False if it is registered already."""

    @abc.abstractmethod
    async def concerned(self, names: Iterable[str]) -> list[RegisteredModel]:
        """Models known by any of ``names`` (id or deployment), plus those in production."""

    @abc.abstractmethod
    async def apply(self, change: StatusChange, at: datetime) -> None:
        """Give the model the change's status and rollout, as of ``at``, and mark its deployment's
        release due at ``change.undeploy_at`` (if it has a deployment not released yet), or
        call off a release not done yet when the change has none."""

    @abc.abstractmethod
    async def list_models(self, status: ModelStatus | None = None) -> list[RegisteredModel]:
        """Newest first."""

    @abc.abstractmethod
    async def undeploy_due(self, provider: str, now: datetime, limit: int = 100) -> list[RegisteredModel]:
        """Models of ``provider`` whose deployment's release is due, the longest waiting first."""

    @abc.abstractmethod
    async def save_undeploy(self, model: RegisteredModel) -> None:
        """Write the model's release fields, unless its release was called off meanwhile."""


class SqlModelStore(AbstractModelStore):
    """The registry in PostgreSQL, in the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def register(self, model: RegisteredModel) -> bool:
        stmt = pg_insert(models).values(**_row(model)).on_conflict_do_nothing().returning(models.c.fine_tuned_model)
        return (await self.session.execute(stmt)).first() is not None

    async def concerned(self, names: Iterable[str]) -> list[RegisteredModel]:
        wanted = list(names)
        stmt = select(models).where(or_(models.c.fine_tuned_model.in_(wanted), models.c.deployment_name.in_(wanted),
                                        models.c.status == ModelStatus.PRODUCTION.value))
        return [_model(r) for r in (await self.session.execute(stmt)).mappings()]

    async def apply(self, change: StatusChange, at: datetime) -> None:
        this = models.c.fine_tuned_model == change.fine_tuned_model
        await self.session.execute(update(models).where(this).values(
            status=change.status.value, rollout_id=change.rollout_id, status_changed_at=at, undeploy_due_at=None))
        if change.undeploy_at is not None:
            await self.session.execute(
                update(models).where(this, models.c.deployment_name.is_not(None), models.c.undeployed_at.is_(None))
                .values(undeploy_due_at=change.undeploy_at))

    async def list_models(self, status: ModelStatus | None = None) -> list[RegisteredModel]:
        stmt = select(models).order_by(models.c.registered_at.desc())
        if status is not None:
            stmt = stmt.where(models.c.status == status.value)
        return [_model(r) for r in (await self.session.execute(stmt)).mappings()]

    async def undeploy_due(self, provider: str, now: datetime, limit: int = 100) -> list[RegisteredModel]:
        stmt = (select(models).where(models.c.provider == provider, models.c.undeploy_due_at <= now)
                .order_by(models.c.undeploy_due_at, models.c.fine_tuned_model).limit(limit))
        return [_model(r) for r in (await self.session.execute(stmt)).mappings()]

    async def save_undeploy(self, model: RegisteredModel) -> None:
        await self.session.execute(
            update(models).where(models.c.fine_tuned_model == model.fine_tuned_model,
                                 models.c.undeploy_due_at.is_not(None))
            .values(undeploy_due_at=model.undeploy_due_at, undeploy_failures=model.undeploy_failures,
                    undeployed_at=model.undeployed_at))


def _row(model: RegisteredModel) -> dict[str, Any]:
    row = dataclasses.asdict(model)
    row["metrics"] = model.metrics.model_dump(mode="json")
    row["status"] = model.status.value
    return row


def _model(row: Any) -> RegisteredModel:
    values = dict(row)
    values["metrics"] = JobMetrics.model_validate(values["metrics"])
    values["status"] = ModelStatus(values["status"])
    return RegisteredModel(**values)
