"""`POST /sandbox/v1/simulate` (sandbox only): more simulated traffic into a running sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from distillery_sandbox.langfuse.filters import QueryError, validation_problems
from distillery_sandbox.workload.defects import DefectRates
from distillery_sandbox.workload.records import SimulatedCall
from distillery_sandbox.workload.simulate import WorkloadConfig, simulate_calls


class SimulateRequest(BaseModel):
    """Body of POST /sandbox/v1/simulate. Without `seed` each request gets fresh ids;
    without `start` the calls end about now."""

    model_config = ConfigDict(extra="forbid")

    calls: int = Field(100, ge=0, le=100_000)
    seed: int | None = None
    defects: dict[str, float] = Field(default_factory=dict)
    start: datetime | None = None
    calls_per_hour: float = Field(420.0, gt=0)
    user_turns: tuple[int, int] = (3, 7)
    environment: str = "production"


def simulation_from_body(body: Any, now: datetime) -> list[SimulatedCall]:
    """Run the simulation a request asks for; QueryError (400) explains a bad body."""
    try:
        request = SimulateRequest.model_validate(body)
    except ValidationError as exc:
        raise QueryError(f"invalid simulate request: {validation_problems(exc)}") from exc
    try:
        defects = DefectRates(**request.defects)
        start = request.start or now - timedelta(hours=request.calls / request.calls_per_hour)
        config = WorkloadConfig(
            seed=request.seed if request.seed is not None else int(now.timestamp() * 1e6),
            calls=request.calls, start=start, calls_per_hour=request.calls_per_hour,
            user_turns=request.user_turns, defects=defects, environment=request.environment,
        )
    except (TypeError, ValueError) as exc:
        raise QueryError(f"invalid simulate request: {exc}") from exc
    return list(simulate_calls(config))
