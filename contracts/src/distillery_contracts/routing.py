"""``distillery.routing.table.v1`` (compacted): the weights the voice platform routes by.

The router library parses this exact shape; field names are part of its contract.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from distillery_contracts.base import Event
from distillery_contracts.common import Percent
from distillery_contracts.signatures import Signature

SIGNED_ARM_FIELDS = ("name", "model", "provider", "deployment", "weight")
"""What a table's signature covers: the fields a router acts on, named here (not "all of
them") so that a field added later does not make routers that ignore it refuse every table."""
SIGNED_TABLE_FIELDS = ("route", "version", "rollout_id", "updated_at")

WEIGHT_TOLERANCE = 1e-6
"""How far from 100 the sum of a table's weights may be (float rounding)."""


def check_weights_sum(weights: list[float], what: str) -> None:
    """Raise ValueError unless the weights add up to 100 percent."""
    total = math.fsum(weights)
    if abs(total - 100.0) > WEIGHT_TOLERANCE:
        raise ValueError(f"{what} must add up to 100 percent, got {total:g}")


class RouteArm(BaseModel):
    """One arm of a route: a model and the share of calls it serves."""

    name: str = Field(min_length=1, description="Arm name: candidate, production or teacher.")
    model: str = Field(min_length=1, description="Model the arm calls (fine-tuned id or teacher).")
    provider: str = Field(
        min_length=1, description="Provider name from configuration: openai, azure."
    )
    deployment: str | None = Field(
        default=None, description="Azure deployment name; None on OpenAI."
    )
    weight: Percent = Field(description="Share of calls in percent (0..100).")


class RouteTableUpdated(Event):
    """The full routing table of one route after a change; the latest per route wins.

    The ORDER of ``arms`` is the bucket layout (the first arm holds the lowest buckets)
    and stays stable across versions, so raising the first arm's weight only moves
    calls to it from later arms.
    """

    event_type: ClassVar[str] = "RouteTableUpdated"
    schema_version: ClassVar[int] = 1

    route: str = Field(min_length=1, description="Route name the voice platform asks for.")
    version: int = Field(ge=1, description="Increases by one on every change; never reused.")
    rollout_id: str | None = Field(
        default=None, description="Rollout that set these weights; None for a static table."
    )
    arms: list[RouteArm] = Field(
        min_length=1, description="Arms in bucket order; weights add up to 100."
    )
    updated_at: AwareDatetime = Field(description="When the table changed.")
    signature: Signature | None = Field(
        default=None, description="The rollout-controller's signature of the routed fields; routers "
        "given its public key refuse a table without a valid one.")

    @model_validator(mode="after")
    def _valid_arms(self) -> RouteTableUpdated:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique, got {names}")
        check_weights_sum([a.weight for a in self.arms], f"weights of route {self.route!r}")
        return self

    def event_id(self) -> str:
        return f"{self.route}:v{self.version}"

    def signed_content(self) -> dict[str, Any]:
        """The routed fields (see ``SIGNED_TABLE_FIELDS``), as the router rebuilds them."""
        data = self.model_dump(mode="json")
        content = {name: data[name] for name in SIGNED_TABLE_FIELDS}
        content["arms"] = [{name: arm[name] for name in SIGNED_ARM_FIELDS} for arm in data["arms"]]
        return content

    def partition_key(self) -> str:
        return self.route
