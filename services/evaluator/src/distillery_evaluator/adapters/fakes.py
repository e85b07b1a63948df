"""Every fake of the evaluator's adapters, for tests: the store (behaves like
SqlEvalRepository, checked by the same contract suite), a scripted chat endpoint, a
bag-of-words embedder and a Langfuse sink; each records what it was asked."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.rollout import RolloutDecided, RolloutDecision
from distillery_contracts.routing import RouteTableUpdated
from distillery_evaluator.adapters.chat import AbstractChatClient, Completion
from distillery_evaluator.adapters.embeddings import AbstractEmbedder
from distillery_evaluator.adapters.langfuse_sink import AbstractLangfuseSink, EvalGeneration, ScoreWrite
from distillery_evaluator.adapters.repository import (
    ENDED_DECISIONS,
    AbstractEvalRepository,
    ForgottenDetails,
    QueuedCall,
    RunRecord,
)
from distillery_evaluator.domain.evalset import EvalItem
from distillery_evaluator.domain.requests import ModelTarget, RunRequest
from distillery_evaluator.domain.results import Answer, ItemScore, Usage
from distillery_contracts.privacy import StoreErasure
from distillery_evaluator.adapters.erasure_store import erasures
from distillery_runtime.fencing import LostLease
from distillery_runtime.erasure import AbstractErasureStore, Caller

_EPOCH = datetime(2000, 1, 1).astimezone()


class FakeEvalRepository(AbstractEvalRepository):
    """Keeps everything in dicts; tests read them to assert what was stored."""

    def __init__(self) -> None:
        self.datasets: dict[str, DatasetBuilt] = {}
        self.models: dict[str, tuple[str | None, str | None]] = {}
        self.routes: dict[str, RouteTableUpdated] = {}
        self.rollouts: dict[str, RolloutDecided] = {}
        self.runs: dict[str, RunRecord] = {}
        self.leases: dict[str, datetime] = {}
        self.run_items: dict[str, dict[str, EvalItem]] = {}
        self.run_answers: dict[str, dict[tuple[str, str], Answer]] = {}
        self.run_scores: dict[str, dict[tuple[str, str, str], ItemScore]] = {}
        self.eval_sets: dict[str, tuple[str, int, str]] = {}
        self.queue: dict[str, QueuedCall] = {}
        self.queue_state: dict[str, tuple[str, datetime]] = {}
        self.queued_at: dict[str, datetime] = {}
        self.online: dict[str, dict[str, Any]] = {}
        self._order = 0

    async def remember_dataset(self, event: DatasetBuilt) -> None:
        self.datasets.setdefault(event.dataset_id, event)

    async def validation_uri(self, dataset_id: str | None) -> tuple[str, str] | None:
        if dataset_id is not None:
            event = self.datasets.get(dataset_id)
        else:
            event = max(self.datasets.values(), key=lambda e: e.built_at, default=None)
        return (event.dataset_id, event.files.validation.uri) if event else None

    async def remember_model(self, model: str, provider: str, deployment: str | None,
                             job_id: str | None, dataset_id: str | None) -> None:
        self.models[model] = (provider, deployment)

    async def target_of(self, model: str) -> ModelTarget:
        provider, deployment = self.models.get(model, (None, None))
        return ModelTarget(model=model, deployment=deployment, provider=provider)

    async def save_route(self, table: RouteTableUpdated) -> None:
        known = self.routes.get(table.route)
        if known is None or known.version < table.version:
            self.routes[table.route] = table

    async def save_rollout(self, decision: RolloutDecided) -> None:
        known = self.rollouts.get(decision.rollout_id)
        if known is None or known.decided_at <= decision.decided_at:
            self.rollouts[decision.rollout_id] = decision

    async def live_candidate(self) -> str | None:
        live = max((d for d in self.rollouts.values() if d.decision not in ENDED_DECISIONS),
                   key=lambda d: d.decided_at, default=None)
        return live.candidate_model if live else None

    async def last_completed(self) -> tuple[str, datetime] | None:
        done = max((d for d in self.rollouts.values() if d.decision is RolloutDecision.COMPLETED),
                   key=lambda d: d.decided_at, default=None)
        return (done.candidate_model, done.decided_at) if done else None

    async def route_table(self, route: str) -> RouteTableUpdated | None:
        return self.routes.get(route)

    async def ended_rollouts(self, rollout_ids: list[str]) -> set[str]:
        return {r for r in rollout_ids
                if r in self.rollouts and self.rollouts[r].decision in ENDED_DECISIONS}

    async def create_run(self, request: RunRequest, cause: dict[str, Any] | None) -> bool:
        if request.run_id in self.runs:
            return False
        self._order += 1
        self.runs[request.run_id] = RunRecord(request.run_id, "pending", request, cause,
                                              _EPOCH + timedelta(seconds=self._order))
        return True

    async def claim_run(self, now: datetime, lease: timedelta) -> RunRecord | None:
        for record in sorted(self.runs.values(), key=lambda r: r.requested_at):
            expired = record.status == "running" and self.leases.get(record.run_id, now) < now
            if record.status == "pending" or expired:
                self.leases[record.run_id] = now + lease
                self.runs[record.run_id] = replace(record, status="running", lease_token=record.lease_token + 1)
                return self.runs[record.run_id]
        return None

    async def renew_lease(self, run_id: str, token: int, until: datetime) -> None:
        await self.hold_run(run_id, token)
        self.leases[run_id] = until

    async def hold_run(self, run_id: str, token: int) -> None:
        record = self.runs.get(run_id)
        if record is None or record.lease_token != token or record.status != "running":
            raise LostLease(f"evaluation {run_id}: lease {token} was taken over")

    async def save_items(self, run_id: str, items: list[EvalItem]) -> None:
        stored = self.run_items.setdefault(run_id, {})
        for item in items:
            stored.setdefault(item.item_id, item)

    async def items(self, run_id: str) -> list[EvalItem]:
        return sorted(self.run_items.get(run_id, {}).values(), key=lambda i: (i.set_name, i.item_id))

    async def save_answers(self, run_id: str, answers: list[Answer]) -> None:
        stored = self.run_answers.setdefault(run_id, {})
        stored.update({(a.item_id, a.role): a for a in answers})

    async def answers(self, run_id: str) -> list[Answer]:
        return list(self.run_answers.get(run_id, {}).values())

    async def save_scores(self, run_id: str, scores: list[ItemScore]) -> None:
        stored = self.run_scores.setdefault(run_id, {})
        stored.update({(s.item_id, s.role, s.scorer): s for s in scores})

    async def scores(self, run_id: str) -> list[ItemScore]:
        return list(self.run_scores.get(run_id, {}).values())

    async def record_eval_set(self, version: str, name: str, size: int, source: str) -> None:
        self.eval_sets.setdefault(version, (name, size, source))

    async def finish_run(self, run_id: str, outcome: str, result: dict[str, Any],
                         notes: dict[str, Any], at: datetime) -> None:
        self.runs[run_id] = replace(self.runs[run_id], status="done", outcome=outcome,
                                    result=result, notes=notes, completed_at=at)

    async def run(self, run_id: str) -> RunRecord | None:
        return self.runs.get(run_id)

    async def list_runs(self, limit: int = 50) -> list[RunRecord]:
        return sorted(self.runs.values(), key=lambda r: r.requested_at, reverse=True)[:limit]

    async def forget_run_details(self, completed_before: datetime, limit: int) -> ForgottenDetails:
        finished = {r.run_id for r in self.runs.values() if r.status == "done"
                    and r.completed_at is not None and r.completed_at < completed_before}
        gone = [*_forget(self.run_items, finished, limit), *_forget(self.run_answers, finished, limit),
                *_forget(self.run_scores, finished, limit)]
        return ForgottenDetails(len(gone), frozenset(gone))

    async def enqueue_calls(self, calls: list[QueuedCall]) -> None:
        for call in calls:
            if call.observation_id not in self.queue:
                self.queue[call.observation_id] = call
                self.queue_state[call.observation_id] = ("pending", _EPOCH)
                self.queued_at[call.observation_id] = datetime.now(UTC)

    async def claim_calls(self, limit: int, now: datetime, lease: timedelta) -> list[QueuedCall]:
        ready = [self.queue[o] for o, (status, not_before) in self.queue_state.items()
                 if status == "pending" and not_before <= now][:limit]
        for call in ready:
            self.queue_state[call.observation_id] = ("pending", now + lease)
        return [replace(call, leased_until=now + lease) for call in ready]

    async def finish_call(self, call: QueuedCall, arm: str, model: str, scored: dict[str, Any],
                          teacher_answer: str | None, findings: list[str], at: datetime) -> None:
        status, not_before = self.queue_state[call.observation_id]
        if status != "pending" or call.leased_until not in (None, not_before):
            raise LostLease(f"live call {call.observation_id} was claimed again since this instance took it")
        self.queue_state[call.observation_id] = ("done", at)
        self.online.setdefault(call.observation_id, {
            "arm": arm, "model": model, "scored": scored, "teacher_answer": teacher_answer,
            "findings": findings})

    async def defer_call(self, observation_id: str, attempts: int, not_before: datetime) -> None:
        self.queue[observation_id] = replace(self.queue[observation_id], attempts=attempts)
        self.queue_state[observation_id] = ("pending", not_before)

    async def forget_calls(self, queued_before: datetime, now: datetime, limit: int) -> int:
        old = sorted((at, o) for o, at in self.queued_at.items() if at < queued_before
                     and (self.queue_state[o][0] == "done" or self.queue_state[o][1] <= now))
        for _, observation_id in old[:limit]:
            for kept in (self.queue, self.queue_state, self.queued_at, self.online):
                kept.pop(observation_id, None)
        return len(old[:limit])


def _forget(table: dict[str, dict[Any, Any]], run_ids: set[str], limit: int) -> list[str]:
    """Delete at most ``limit`` rows of ``run_ids`` from one table; the run of each row deleted."""
    keys = [(run_id, key) for run_id in sorted(run_ids) for key in table.get(run_id, {})][:limit]
    for run_id, key in keys:
        del table[run_id][key]
    return [run_id for run_id, _ in keys]


Responder = Callable[[ModelTarget, list[dict[str, Any]]], "str | Completion | Exception"]


class FakeChatClient(AbstractChatClient):
    """Answers with ``responder(target, messages)``; an Exception it returns is raised.

    Records every request in ``calls`` so tests can count attempts; ``delay_s`` makes each
    call take that long (for timeouts and concurrency).
    """

    def __init__(self, responder: Responder, delay_s: float = 0.0) -> None:
        self.responder = responder
        self.delay_s = delay_s
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def complete(self, target: ModelTarget, messages: list[dict[str, Any]], *,
                       tools: list[dict[str, Any]] | None = None, max_tokens: int | None = None,
                       temperature: float | None = None, timeout_s: float = 30.0) -> Completion:
        self.calls.append((target.served_as, messages))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            result = self.responder(target, messages)
        finally:
            self.in_flight -= 1
        if isinstance(result, Exception):
            raise result
        if isinstance(result, Completion):
            return result
        return Completion(result, usage=Usage(input_tokens=100, output_tokens=20))

    def calls_to(self, served_as: str) -> int:
        return sum(1 for name, _ in self.calls if name == served_as)


class FakeEmbedder(AbstractEmbedder):
    """Hashed bag of words: same words, similarity 1; no shared words, 0. Counts calls."""

    name = "fake-bag-of-words"

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions
        self.embedded: list[str] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in re.findall(r"\w+", text.lower()):
            slot = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimensions
            vector[slot] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]




class FakeLangfuseSink(AbstractLangfuseSink):
    """Records what would have been written; ``fail`` makes every write raise."""

    def __init__(self, fail: bool = False) -> None:
        self.generations: list[EvalGeneration] = []
        self.trace_scores: list[tuple[str, str | None, ScoreWrite]] = []
        self.fail = fail

    async def record_run(self, generations: list[EvalGeneration]) -> None:
        if self.fail:
            raise ConnectionError("langfuse unreachable")
        self.generations.extend(generations)

    async def score_trace(self, trace_id: str, observation_id: str | None,
                          scores: list[ScoreWrite]) -> None:
        if self.fail:
            raise ConnectionError("langfuse unreachable")
        self.trace_scores.extend((trace_id, observation_id, s) for s in scores)


class FakeErasureStore(AbstractErasureStore):
    """Erases the live calls of a FakeEvalRepository; records each caller."""

    def __init__(self, repo: FakeEvalRepository) -> None:
        self.repo = repo
        self.erased: list[Caller] = []

    async def erase(self, caller: Caller) -> list[StoreErasure]:
        self.erased.append(caller)

        def matches(payload: dict[str, Any]) -> bool:
            return ((caller.session_id is not None and payload.get("session_id") == caller.session_id)
                    or payload.get("trace_id") == caller.trace_id)

        calls = {o for o, call in self.repo.queue.items() if matches(call.trace)}
        scores = {o for o, row in self.repo.online.items() if o in calls or matches(row["scored"])}
        for observation_id in calls | scores:
            for kept in (self.repo.queue, self.repo.queue_state, self.repo.queued_at):
                kept.pop(observation_id, None)
        for observation_id in scores:
            self.repo.online.pop(observation_id)
        return erasures(len(calls), len(scores))
