"""Builders for the rollout-controller's unit tests: a clock, simulated arms, the controller.

This folder is on ``sys.path`` so that tests import the repository contract suite
(rollout_repository_contract.py) by name, as the integration suite does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from distillery_contracts.evaluations import CallScored, JudgeOutcome
from distillery_contracts.registry import EVALUATIONS_ONLINE, TRACES_RAW
from distillery_contracts.samples import sample_evaluation_completed
from distillery_contracts.traces import TraceCaptured
from distillery_rollout_controller.adapters.fakes import FakeRolloutRepository
from distillery_rollout_controller.config import ControllerConfig
from distillery_rollout_controller.domain.gates import GatePolicy
from distillery_rollout_controller.domain.routing import ArmEndpoints
from distillery_rollout_controller.handlers import Handlers
from distillery_rollout_controller.services import RolloutController
from distillery_runtime.clock import FakeClock
from distillery_runtime.consumer import Delivery, delivery_of
from distillery_runtime.signing import Keyring
from distillery_runtime.uow import FakeUnitOfWork

sys.path.insert(0, str(Path(__file__).parent))

from rollout_support import OPERATOR_KEYS, TABLE_KEY, VIEWER_KEY, signed  # noqa: E402

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::s1"
NEXT_STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::s2"
TEST_POLICY = GatePolicy(min_scored_calls=100, min_stage_seconds=600, hallucination_margin=0.05,
                         error_margin=0.05)


@dataclass
class ArmBehaviour:
    """How a simulated arm answers: rates per 100 calls and a latency profile."""

    hallucinations: int = 1
    losses: int = 20
    errors: int = 0
    latency_ms: float = 400.0


def scored_calls(rollout_id: str, stage: int, arm: str, n: int, behaviour: ArmBehaviour,
                 at: datetime, start: int = 0) -> list[CallScored]:
    """``n`` scored calls of one arm, spread evenly so any 100 show the behaviour's rates."""
    calls = []
    for i in range(start, start + n):
        calls.append(CallScored(
            observation_id=f"{rollout_id}-{stage}-{arm}-{i:05d}", trace_id=f"tr-{arm}-{stage}-{i}",
            session_id=f"call-{arm}-{stage}-{i}", rollout_id=rollout_id, stage_index=stage, arm=arm,
            model=arm, hallucinated=(i % 100) < behaviour.hallucinations,
            judge_outcome=(JudgeOutcome.LOSS if (i * 7 % 100) < behaviour.losses else JudgeOutcome.TIE)
            if arm == "candidate" else None,
            latency_ms=behaviour.latency_ms + (i * 37 % 200), error=(i * 13 % 100) < behaviour.errors,
            cost_usd=0.0009 if arm != "teacher" else 0.006, scored_at=at,
        ))
    return calls


def deliveries(events: list, topic: str = EVALUATIONS_ONLINE) -> list[Delivery]:
    return [delivery_of(e, offset=i, topic=topic) for i, e in enumerate(events)]


@dataclass
class Harness:
    """The controller over a fake repository, driven the way its consumers drive it."""

    clock: FakeClock
    repo: FakeRolloutRepository = field(default_factory=FakeRolloutRepository)
    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    policy: GatePolicy = TEST_POLICY
    endpoints: ArmEndpoints = field(default_factory=ArmEndpoints)

    def __post_init__(self) -> None:
        operators = Keyring([k.trusted() for k in [*OPERATOR_KEYS.values(), VIEWER_KEY]])
        config = ControllerConfig(policy=self.policy, endpoints=self.endpoints, operators=operators,
                                  table_signer=TABLE_KEY)
        self.controller = RolloutController(config, self.clock)
        self.wakes = 0
        self.handlers = Handlers(self.controller, lambda uow: self.repo, wake=self._woken)

    def _woken(self) -> None:
        self.wakes += 1

    async def passed_evaluation(self, candidate: str = STUDENT, run_id: str = "eval-1",
                                provider: str | None = None) -> None:
        event = sample_evaluation_completed(candidate_model=candidate, run_id=run_id,
                                            candidate_provider=provider)
        await self.handlers.on_evaluation_completed(self.uow, deliveries([event]))
        await self.uow.commit()

    async def serve_stage(self, stage: int, candidate: ArmBehaviour, baseline: ArmBehaviour,
                          n: int = 100, rollout_id: str = "ro-0001", baseline_arm: str = "teacher") -> None:
        events = (scored_calls(rollout_id, stage, "candidate", n, candidate, self.clock())
                  + scored_calls(rollout_id, stage, baseline_arm, n, baseline, self.clock()))
        await self.handlers.on_call_scored(self.uow, deliveries(events))
        await self.uow.commit()

    async def score(self, scores: list[CallScored]) -> None:
        await self.handlers.on_call_scored(self.uow, deliveries(scores))
        await self.uow.commit()

    async def capture(self, traces: list[TraceCaptured]) -> None:
        await self.handlers.on_trace_captured(self.uow, deliveries(traces, TRACES_RAW))
        await self.uow.commit()

    async def evaluate(self):  # noqa: ANN201 - the decision or None
        decision = await self.controller.evaluate(self.repo, self.uow)
        await self.uow.commit()
        return decision

    async def command(self, command) -> None:  # noqa: ANN001
        """Deliver ``command`` signed by its requester's key, as the CLI sends it."""
        await self.deliver(signed(command))

    async def deliver(self, command) -> None:  # noqa: ANN001
        """Deliver ``command`` as it is (forged, unsigned, or signed by someone else)."""
        await self.handlers.on_rollout_command(self.uow, deliveries([command]))
        await self.uow.commit()

    async def pass_stage(self, stage: int, rollout_id: str = "ro-0001", baseline_arm: str = "teacher"):  # noqa: ANN201
        """Good data for a stage, then wait out its minimum duration and evaluate."""
        await self.serve_stage(stage, ArmBehaviour(), ArmBehaviour(), rollout_id=rollout_id,
                               baseline_arm=baseline_arm)
        self.clock.advance(self.policy.min_stage_seconds)
        return await self.evaluate()

    def decisions(self, rollout_id: str = "ro-0001") -> list[str]:
        return [d.decision.value for d in self.repo.saved_decisions if d.rollout_id == rollout_id]

    def weights(self) -> dict[str, float]:
        return {a.name: a.weight for a in self.repo.routes["voice-agent"].table.arms}

    def providers(self) -> dict[str, str]:
        return {a.name: a.provider for a in self.repo.routes["voice-agent"].table.arms}

    def published(self, topic: str) -> list:
        return [m for m in self.uow.committed if m.topic == topic]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def harness(clock: FakeClock) -> Harness:
    return Harness(clock)


@pytest.fixture
def good() -> ArmBehaviour:
    return ArmBehaviour()


@pytest.fixture
def make_calls() -> Callable[..., list[CallScored]]:
    return scored_calls


@pytest.fixture
def behaviour() -> type[ArmBehaviour]:
    return ArmBehaviour


@pytest.fixture
def models() -> dict[str, str]:
    return {"student": STUDENT, "next_student": NEXT_STUDENT, "teacher": "gpt-4.1"}
