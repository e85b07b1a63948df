"""The routing table as the rollout-controller publishes it.

This mirrors ``distillery_contracts.routing.RouteTableUpdated`` field for field, so the
router parses the topic value and the HTTP body alike while depending only on pydantic.
Unknown fields are ignored: a controller that adds an optional field does not break
routers already deployed on the voice platform.
"""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Tolerance on the sum of weights; the contract validates with the same bound.
WEIGHT_SUM_TOLERANCE = 1e-6


class Arm(BaseModel):
    """One destination for calls: a model behind a provider, with its share of traffic."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str = Field(min_length=1, description="Role of the arm: candidate, production, teacher...")
    model: str = Field(min_length=1, description="Model name (or fine-tuned model id) to call.")
    provider: str = Field(min_length=1, description="Who serves the model, e.g. 'openai' or 'azure'.")
    deployment: str | None = Field(
        default=None, description="Azure deployment name; None where the provider needs none."
    )
    weight: float = Field(ge=0, le=100, description="Share of calls in percent, 0..100.")


class TableSignature(BaseModel):
    """The controller's signature of a table (see ``signature.py``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    key_id: str = Field(min_length=1, description="Identity of the key that signed.")
    value: str = Field(min_length=1, description="Base64 of the Ed25519 signature.")


class RouteTable(BaseModel):
    """Weights of every arm of one route at one version.

    The order of ``arms`` is the bucket layout: the first arm occupies the lowest
    buckets. The controller keeps that order stable across versions so that raising
    the first arm's weight only moves calls from later arms to it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    route: str = Field(min_length=1, description="Name the voice platform routes by.")
    version: int = Field(ge=0, description="Monotonic; a router never applies an older version.")
    rollout_id: str | None = Field(default=None, description="Rollout that set these weights.")
    updated_at: datetime = Field(description="When the controller published this version.")
    arms: tuple[Arm, ...] = Field(min_length=1, description="Arms in bucket order.")
    signature: TableSignature | None = Field(
        default=None, description="The controller's signature; a follower given its key refuses tables without one.")

    @model_validator(mode="after")
    def _check_arms(self) -> RouteTable:
        names = [arm.name for arm in self.arms]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"route {self.route!r}: arm names must be unique, repeated: {duplicates}")
        total = math.fsum(arm.weight for arm in self.arms)
        if abs(total - 100.0) > WEIGHT_SUM_TOLERANCE:
            weights = ", ".join(f"{arm.name}={arm.weight:g}" for arm in self.arms)
            raise ValueError(f"route {self.route!r}: weights must sum to 100, got {total:g} ({weights})")
        return self

    def arm(self, name: str) -> Arm:
        """The arm called ``name``; KeyError with the known names otherwise."""
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(f"route {self.route!r} has no arm {name!r}; arms: {[a.name for a in self.arms]}")
