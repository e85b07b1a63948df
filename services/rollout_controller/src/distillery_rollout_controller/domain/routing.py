"""Routing tables the controller publishes for the voice platform."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from distillery_contracts.routing import RouteArm, RouteTableUpdated
from distillery_rollout_controller.domain.plan import ARM_ORDER, PRODUCTION, TEACHER, Weights


@dataclass(frozen=True)
class ArmEndpoints:
    """Where each kind of model is served: provider name and Azure deployment.

    ``student_deployment`` may contain ``{model}``, replaced by the fine-tuned model id,
    for Azure deployments named after the model they serve.
    """

    teacher_provider: str = "openai"
    teacher_deployment: str | None = None
    student_provider: str = "openai"
    student_deployment: str | None = None

    def arm(self, name: str, model: str, weight: float, provider: str | None = None) -> RouteArm:
        """The arm; a student is served by ``provider`` (the one it was trained with) when
        known, else by the configured student provider, whose deployments are the only
        ones ``student_deployment`` names."""
        if name == TEACHER:
            return RouteArm(name=name, model=model, provider=self.teacher_provider,
                            deployment=self.teacher_deployment, weight=weight)
        provider = provider or self.student_provider
        deployment = (self.student_deployment.format(model=model)
                      if self.student_deployment and provider == self.student_provider else None)
        return RouteArm(name=name, model=model, provider=provider, deployment=deployment, weight=weight)


@dataclass(frozen=True)
class RouteState:
    """The table in force on a route and the student in production behind it."""

    route: str
    table: RouteTableUpdated
    production_model: str | None

    @property
    def version(self) -> int:
        return self.table.version

    @property
    def production_provider(self) -> str | None:
        """The provider serving the production student, as the table in force says."""
        return next((a.provider for a in self.table.arms
                     if a.name == PRODUCTION and a.model == self.production_model), None)


def build_table(route: str, version: int, rollout_id: str | None, weights: Weights,
                models: dict[str, str], endpoints: ArmEndpoints, now: datetime,
                providers: Mapping[str, str] | None = None) -> RouteTableUpdated:
    """A table with the arms in the fixed bucket order, leaving out arms without share;
    ``providers`` names the provider of the student arms whose provider is known."""
    missing = [arm for arm in weights if arm not in models]
    if missing:
        raise ValueError(f"no model for arm(s) {missing} of route {route!r}")
    providers = providers or {}
    arms = [endpoints.arm(name, models[name], weights[name], providers.get(name)) for name in ARM_ORDER
            if weights.get(name, 0) > 0]
    return RouteTableUpdated(route=route, version=version, rollout_id=rollout_id, arms=arms,
                             updated_at=now)


def weights_of(table: RouteTableUpdated) -> Weights:
    return {arm.name: arm.weight for arm in table.arms}
