"""Every store of the controller in memory, for unit tests.

Each fake keeps the contract its SQL twin keeps (services/rollout_controller/tests/
rollout_repository_contract.py runs against both) and records what happened, so tests
assert on the tables, rollouts and decisions saved.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime

from distillery_contracts.rollout import RolloutDecided
from distillery_rollout_controller.adapters.repository import AbstractRolloutRepository
from distillery_rollout_controller.adapters.rows import merge_observations, traffic_rows
from distillery_rollout_controller.domain.costs import ModelTraffic
from distillery_rollout_controller.domain.observations import Observation, TrafficSample, merge_observation
from distillery_rollout_controller.domain.rollout import Rollout, RolloutStatus
from distillery_rollout_controller.domain.routing import RouteState
from distillery_rollout_controller.domain.window import ArmSample


class FakeRolloutRepository(AbstractRolloutRepository):
    """Same behaviour as the SQL repository; objects are copied in and out, as rows are."""

    def __init__(self) -> None:
        self.routes: dict[str, RouteState] = {}
        self.rollouts: dict[str, Rollout] = {}
        self.saved_decisions: list[RolloutDecided] = []
        self.observations: dict[str, Observation] = {}
        self.traffic: dict[tuple[datetime, str], dict] = {}
        self.locked_routes: list[str] = []
        self._numbers = 0

    async def route_state(self, route: str, *, lock: bool = False) -> RouteState | None:
        if lock:
            self.locked_routes.append(route)
        return self.routes.get(route)

    async def save_route_state(self, state: RouteState) -> None:
        self.routes[state.route] = state

    async def next_rollout_id(self) -> str:
        self._numbers += 1
        return f"ro-{self._numbers:04d}"

    async def rollout(self, rollout_id: str) -> Rollout | None:
        return copy.deepcopy(self.rollouts.get(rollout_id))

    async def live_rollout(self, route: str) -> Rollout | None:
        return next((copy.deepcopy(r) for r in self.rollouts.values()
                     if r.route == route and r.is_live), None)

    async def queued_rollouts(self, route: str) -> list[Rollout]:
        queued = [r for r in self.rollouts.values()
                  if r.route == route and r.status is RolloutStatus.QUEUED]
        return copy.deepcopy(sorted(queued, key=lambda r: (r.created_at, r.rollout_id)))

    async def rollout_for_run(self, eval_run_id: str) -> Rollout | None:
        return next((copy.deepcopy(r) for r in self.rollouts.values() if r.eval_run_id == eval_run_id), None)

    async def recent_rollouts(self, route: str, limit: int = 10) -> list[Rollout]:
        mine = sorted((r for r in self.rollouts.values() if r.route == route),
                      key=lambda r: (r.created_at, r.rollout_id), reverse=True)
        return copy.deepcopy(mine[:limit])

    async def save_rollout(self, rollout: Rollout) -> None:
        self.rollouts[rollout.rollout_id] = copy.deepcopy(rollout)

    async def add_decision(self, decision: RolloutDecided) -> None:
        if all(d.decision_id != decision.decision_id for d in self.saved_decisions):
            self.saved_decisions.append(decision)

    async def decisions(self, rollout_id: str) -> list[RolloutDecided]:
        mine = [d for d in self.saved_decisions if d.rollout_id == rollout_id]
        return sorted(mine, key=lambda d: (d.decided_at, d.decision_id))

    async def record_observations(self, items: Sequence[Observation]) -> None:
        for item in merge_observations(items):
            known = self.observations.get(item.observation_id)
            self.observations[item.observation_id] = merge_observation(known, item) if known else item

    async def stage_samples(self, rollout_id: str, stage_index: int) -> dict[str, ArmSample]:
        samples: dict[str, ArmSample] = {}
        for o in self.observations.values():
            if o.rollout_id != rollout_id or o.stage_index != stage_index:
                continue
            s = samples.setdefault(o.arm, ArmSample(o.arm))
            s.model = max(filter(None, (s.model, o.model)), default=None)
            s.calls += 1
            s.scored += o.scored
            s.hallucination_checked += o.hallucinated is not None
            s.hallucinated += o.hallucinated is True
            s.wins += o.judge_outcome == "win"
            s.ties += o.judge_outcome == "tie"
            s.losses += o.judge_outcome == "loss"
            if o.similarity is not None:
                s.similarity_sum, s.similarity_n = s.similarity_sum + o.similarity, s.similarity_n + 1
            s.errors += o.error is True
            s.error_known += o.error is not None
            if o.cost_usd is not None:
                s.cost_sum, s.cost_n = s.cost_sum + o.cost_usd, s.cost_n + 1
            if o.latency_ms is not None:
                s.latencies.append(o.latency_ms)
        for s in samples.values():
            s.latencies.sort()
        return samples

    async def record_traffic(self, items: Sequence[TrafficSample]) -> None:
        for row in traffic_rows(items):
            key = (row["hour"], row["model"])
            known = self.traffic.get(key)
            if known is None:
                self.traffic[key] = row
                continue
            for name in ("calls", "priced_calls", "cost_usd", "input_tokens", "output_tokens"):
                known[name] += row[name]
            known["first_at"] = min(known["first_at"], row["first_at"])
            known["last_at"] = max(known["last_at"], row["last_at"])

    async def traffic_since(self, since: datetime) -> list[ModelTraffic]:
        totals: dict[str, ModelTraffic] = {}
        for row in self.traffic.values():
            if row["last_at"] < since:
                continue
            t = totals.get(row["model"])
            totals[row["model"]] = ModelTraffic(
                model=row["model"], calls=row["calls"] + (t.calls if t else 0),
                priced_calls=row["priced_calls"] + (t.priced_calls if t else 0),
                cost_usd=row["cost_usd"] + (t.cost_usd if t else 0.0),
                input_tokens=row["input_tokens"] + (t.input_tokens if t else 0),
                output_tokens=row["output_tokens"] + (t.output_tokens if t else 0),
                first_at=min(row["first_at"], t.first_at) if t else row["first_at"],
                last_at=max(row["last_at"], t.last_at) if t else row["last_at"],
            )
        return [totals[m] for m in sorted(totals)]
