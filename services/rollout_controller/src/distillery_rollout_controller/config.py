"""Rollout-controller settings, from ``DISTILLERY_ROLLOUT_*`` environment variables.

Every threshold is here so that a demo can walk all five stages in minutes
(for instance ``DISTILLERY_ROLLOUT_MIN_SCORED_CALLS=80`` and
``DISTILLERY_ROLLOUT_MIN_STAGE_DURATION_S=5``) while production waits for real evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from distillery_rollout_controller.domain.gates import GatePolicy
from distillery_rollout_controller.domain.plan import StagePlan
from distillery_rollout_controller.domain.routing import ArmEndpoints
from distillery_runtime.pricing import PriceTable
from distillery_runtime.errors import ConfigError
from distillery_runtime.signing import KeyFileError, Keyring, SigningKey, local_keys


class RolloutSettings(BaseSettings):
    """What the rollout-controller does, and how cautiously."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_ROLLOUT_", extra="ignore",
                                      env_ignore_empty=True)

    route: str = Field(default="voice-agent", min_length=1,
                       description="Route the voice platform asks the router for.")
    stages: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [10.0, 25.0, 50.0, 75.0, 90.0],
        description="Candidate share per stage in percent, e.g. '10,25,50,75,90'; the last is "
        "100 minus the teacher floor.")
    teacher_floor_percent: float = Field(default=10.0, ge=0, lt=100,
                                         description="Share the teacher always keeps.")
    teacher_model: str = Field(default="gpt-4.1", min_length=1, description="The model every student replaces.")
    teacher_provider: str = Field(default="openai", min_length=1,
                                  description="Provider the router sends teacher calls to.")
    teacher_deployment: str | None = Field(default=None, description="Azure deployment of the teacher.")
    student_provider: str = Field(default="openai", min_length=1,
                                  description="Provider the router sends student calls to.")
    student_deployment: str | None = Field(
        default=None, description="Azure deployment of students; '{model}' is replaced by the model id.")
    min_stage_duration_s: float = Field(default=3600.0, ge=0,
                                        description="No advance before a stage is this old.")
    min_scored_calls: int = Field(default=200, ge=1,
                                  description="Scored calls per compared arm before any decision.")
    confidence: float = Field(default=0.95, gt=0.5, lt=1, description="Of every interval.")
    hallucination_margin: float = Field(default=0.02, ge=0, le=1,
                                        description="Tolerated rise of the hallucination rate.")
    error_margin: float = Field(default=0.01, ge=0, le=1, description="Tolerated rise of the error rate.")
    max_judge_loss_rate: float = Field(default=0.40, gt=0, le=1,
                                       description="Judge losses against the teacher tolerated.")
    require_judge: bool = Field(default=True,
                                description="Hold until judge verdicts arrive (false: gate optional).")
    latency_p50_margin: float = Field(default=0.25, ge=0, description="Relative p50 rise tolerated.")
    latency_p95_margin: float = Field(default=0.25, ge=0, description="Relative p95 rise tolerated.")
    max_latency_p95_ms: float | None = Field(default=None, gt=0, description="Absolute p95 ceiling.")
    evaluate_interval_s: float = Field(default=30.0, gt=0, description="Timer of the gate evaluation.")
    cost_lookback_days: float = Field(default=7.0, gt=0, description="Traffic window of the cost report.")
    route_cache_s: float = Field(default=1.0, ge=0, description="How long GET /v1/routes reuses a read.")
    operator_keys: Annotated[str | None, NoDecode] = Field(
        default=None, description='Operators whose signed commands are obeyed, as JSON: [{"identity": "ana", '
        '"role": "operator"|"viewer", "public_key": "<base64>"}] (distillery keys generate prints an entry); '
        "only an operator may force an advance. Unset: <DISTILLERY_HOME>/keys/operators.json, which "
        "distillery stack up and demo write; none: every command is refused.")
    signing_key: Path | None = Field(
        default=None, description="Key file the controller signs routing tables with; created at first start "
        "when missing. Routers trust its public key (written beside it as .pub.json). "
        "Default <DISTILLERY_HOME>/keys/rollout-controller.key.")

    @field_validator("stages", mode="before")
    @classmethod
    def _split_stages(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().removeprefix("[").removesuffix("]")
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _plan_is_valid(self) -> RolloutSettings:
        self.plan()  # raises ValueError with the reason, reported as one line
        return self

    def plan(self) -> StagePlan:
        return StagePlan.of(self.stages, self.teacher_floor_percent)

    def policy(self) -> GatePolicy:
        return GatePolicy(
            confidence=self.confidence, min_scored_calls=self.min_scored_calls,
            min_stage_seconds=self.min_stage_duration_s, hallucination_margin=self.hallucination_margin,
            error_margin=self.error_margin, max_judge_loss_rate=self.max_judge_loss_rate,
            require_judge=self.require_judge, latency_p50_margin=self.latency_p50_margin,
            latency_p95_margin=self.latency_p95_margin, max_latency_p95_ms=self.max_latency_p95_ms,
        )

    def endpoints(self) -> ArmEndpoints:
        return ArmEndpoints(teacher_provider=self.teacher_provider,
                            teacher_deployment=self.teacher_deployment,
                            student_provider=self.student_provider,
                            student_deployment=self.student_deployment)

    def controller_config(self, prices: PriceTable | None = None, home: Path | None = None) -> ControllerConfig:
        """The controller's configuration; with ``home``, its keys too (loaded, or the table
        key created), which only the running service needs."""
        try:
            operators, signer = (self.operators(home), self.table_signer(home)) if home else (Keyring(), None)
        except KeyFileError as exc:
            raise ConfigError(str(exc)) from None
        return ControllerConfig(route=self.route, teacher_model=self.teacher_model, plan=self.plan(),
                                policy=self.policy(), endpoints=self.endpoints(),
                                prices=prices or PriceTable.from_env(),
                                cost_lookback_days=self.cost_lookback_days, operators=operators,
                                table_signer=signer)

    def operators(self, home: Path) -> Keyring:
        """The trusted operator keys; KeyFileError (one line) when they cannot be read."""
        if self.operator_keys is not None:
            return Keyring.parse(self.operator_keys, "DISTILLERY_ROLLOUT_OPERATOR_KEYS")
        path = local_keys(home).operators
        return Keyring.load(path) if path.exists() else Keyring()

    def table_signer(self, home: Path) -> SigningKey:
        return local_keys(home).controller_key(self.signing_key)


@dataclass(frozen=True)
class ControllerConfig:
    """Everything the controller's logic needs, resolved from settings once."""

    route: str = "voice-agent"
    teacher_model: str = "gpt-4.1"
    plan: StagePlan = StagePlan()
    policy: GatePolicy = GatePolicy()
    endpoints: ArmEndpoints = ArmEndpoints()
    prices: PriceTable = PriceTable()
    cost_lookback_days: float = 7.0
    operators: Keyring = field(default_factory=Keyring)
    """Whose commands are obeyed; empty: none."""
    table_signer: SigningKey | None = None
    """Signs every routing table; None only in tests of other things (routers refuse unsigned tables)."""
