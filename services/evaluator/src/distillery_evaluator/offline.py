"""An offline evaluation run, from its request to its EvaluationCompleted.

The run is resumable: items, answers and scores are stored as they are made, and a run
taken over after a crash only asks for what is missing. Whatever stops it (an endpoint
that keeps failing, an unreadable eval set) ends it as outcome ``error``, never a pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distillery_contracts.evaluations import EvalOutcome, EvalSetRef, EvaluationCompleted
from distillery_evaluator.adapters.chat import AbstractChatClient
from distillery_evaluator.adapters.langfuse_sink import AbstractLangfuseSink, EvalGeneration, ScoreWrite
from distillery_evaluator.adapters.repository import AbstractEvalRepository, RunRecord
from distillery_evaluator.adapters.sources import GoldenLoader
from distillery_evaluator.calls import CallFailed, CallPolicy, complete_with_retries
from distillery_evaluator.domain.evalset import VALIDATION, EvalItem, EvalSet, EvalSetError, validation_items
from distillery_evaluator.domain.gates import GateConfig, evaluate_gates
from distillery_evaluator.domain.metrics import CostFn, role_stats
from distillery_evaluator.domain.requests import ModelTarget, RunRequest
from distillery_evaluator.domain.results import TEACHER, Answer, ItemScore
from distillery_evaluator.report import RunSummary, write_report
from distillery_evaluator.scorers import Scorer, ScoringCase
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.logs import get_logger

log = get_logger(__name__)

StoreFactory = Callable[[], AbstractAsyncContextManager[AbstractEvalRepository]]
"""Opens one transaction on the evaluator's store (committed when the block ends)."""


class RunError(Exception):
    """Why a run cannot finish; becomes the error_message of its EvaluationCompleted."""


class RunDeferred(Exception):
    """The run cannot start yet (its dataset's event has not been applied); try again soon."""


@dataclass
class RunLimits:
    """Concurrency, per-call policy and answer sampling of a run."""

    concurrency: int = 8
    policy: CallPolicy = CallPolicy()
    max_failed_share: float = 0.05
    max_tokens: int = 300
    temperature: float = 0.0
    validation_limit: int = 200
    lease: timedelta = timedelta(seconds=120)
    save_every: int = 20
    dataset_wait: timedelta = timedelta(minutes=5)
    """How long a run waits for its dataset's datasets.built (topics are read independently)."""


@dataclass
class OfflineEvaluator:
    """Runs offline evaluations with the given endpoints, scorers and configuration."""

    store: StoreFactory
    models: AbstractChatClient
    scorers: Sequence[Scorer]
    golden: GoldenLoader
    read_lines: Callable[[str], Awaitable[list[str]]]
    cost_of: CostFn
    gates: GateConfig
    reports_dir: Path
    limits: RunLimits
    langfuse: AbstractLangfuseSink | None = None
    skipped_scorers: Sequence[str] = ()
    figures: bool = True

    async def execute(self, record: RunRecord) -> tuple[EvaluationCompleted, dict[str, Any]]:
        """Carry ``record`` to its end; returns the event to publish and notes to store."""
        request = record.request
        summary = RunSummary(request, EvalOutcome.ERROR, skipped_scorers=list(self.skipped_scorers))
        try:
            items = await self._items(request, record.requested_at)
            summary.items = {i.item_id: i for i in items}
            summary.eval_sets = _set_refs(items)
            summary.answers = await self._answers(request, items)
            self._check_failures(request, summary.answers)
            summary.scores, summary.scorers_ran = await self._score(request, items, summary.answers)
            self._aggregate(summary)
        except RunDeferred:
            raise
        except (RunError, CallFailed, EvalSetError) as exc:
            summary.outcome, summary.error = EvalOutcome.ERROR, _reason(exc)
            log.warning("evaluation run ended in error", run_id=request.run_id, error=summary.error)
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise  # the database is down: keep the run; it resumes when it is back
            # anything else (a bug, an unreadable file) ends the run visibly, never retried forever
            log.exception("evaluation run failed", run_id=request.run_id)
            summary.outcome, summary.error = EvalOutcome.ERROR, f"{type(exc).__name__}: {exc}"
        report_uri = await self._report(summary)
        await self._write_back(summary)
        return _event(summary, report_uri), _notes(summary)

    async def _items(self, request: RunRequest, requested_at: datetime) -> list[EvalItem]:
        async with self.store() as repo:
            stored = await repo.items(request.run_id)
        if stored:
            return stored
        request = await self._with_validation(request, requested_at)
        sets: list[EvalSet] = []
        golden = await self.golden()
        if golden is not None:
            sets.append(golden)
        if request.validation_uri and self.limits.validation_limit:
            lines = await self.read_lines(request.validation_uri)
            sets.append(EvalSet.of(VALIDATION, validation_items(lines, self.limits.validation_limit)))
        items = [item for s in sets for item in s.items]
        if not items:
            raise RunError("no evaluation items: no golden set configured and no validation split")
        async with self.store() as repo:
            for s in sets:
                await repo.record_eval_set(s.version, s.name, len(s), request.validation_uri
                                           if s.name == VALIDATION else "golden")
            await repo.save_items(request.run_id, items)
        return items

    async def _with_validation(self, request: RunRequest, requested_at: datetime) -> RunRequest:
        """The request with its validation file, looked up now if the dataset came late."""
        if request.validation_uri or not request.dataset_id:
            return request
        async with self.store() as repo:
            found = await repo.validation_uri(request.dataset_id)
        if found is None and datetime.now(UTC) - requested_at < self.limits.dataset_wait:
            raise RunDeferred(f"waiting for datasets.built of {request.dataset_id}")
        if found is None:
            raise RunError(f"dataset {request.dataset_id} is unknown to the evaluator (no "
                           "datasets.built event seen for it), so its validation split is missing")
        return request.model_copy(update={"validation_uri": found[1]})

    async def _answers(self, request: RunRequest, items: list[EvalItem]) -> list[Answer]:
        async with self.store() as repo:
            done = {(a.item_id, a.role): a for a in await repo.answers(request.run_id) if a.ok}
        todo = [(item, role, target) for role, target in request.roles().items()
                for item in items if (item.item_id, role) not in done]
        limit = asyncio.Semaphore(self.limits.concurrency)
        pending: list[Answer] = []

        async def answer(item: EvalItem, role: str, target: ModelTarget) -> Answer:
            async with limit:
                result = await self._ask(item, role, target)
            pending.append(result)
            if len(pending) >= self.limits.save_every:
                await self._save(request.run_id, pending)
            return result

        fresh = await asyncio.gather(*(answer(*job) for job in todo))
        await self._save(request.run_id, pending)
        return [*done.values(), *fresh]

    async def _ask(self, item: EvalItem, role: str, target: ModelTarget) -> Answer:
        try:
            done = await complete_with_retries(
                self.models, target, item.messages, self.limits.policy, tools=item.tools,
                max_tokens=self.limits.max_tokens, temperature=self.limits.temperature)
        except CallFailed as exc:
            return Answer(item.item_id, role, target.model, None, error=str(exc), attempts=exc.attempts)
        c = done.completion
        text = _answer_text(c.content, c.tool_calls)
        return Answer(item.item_id, role, target.model, text, round(done.latency_ms, 3), c.usage,
                      None, done.attempts, c.tool_calls)

    async def _save(self, run_id: str, pending: list[Answer]) -> None:
        batch, pending[:] = list(pending), []
        if batch:
            async with self.store() as repo:
                await repo.save_answers(run_id, batch)
                await repo.renew_lease(run_id, datetime.now(UTC) + self.limits.lease)

    def _check_failures(self, request: RunRequest, answers: list[Answer]) -> None:
        for role, target in request.roles().items():
            mine = [a for a in answers if a.role == role]
            failed = [a for a in mine if not a.ok]
            if mine and len(failed) / len(mine) > self.limits.max_failed_share:
                raise RunError(
                    f"{role} model {target.model} failed {len(failed)} of {len(mine)} prompts "
                    f"after retries (allowed share {self.limits.max_failed_share:g}); "
                    f"last error: {failed[-1].error}")

    async def _score(self, request: RunRequest, items: list[EvalItem],
                     answers: list[Answer]) -> tuple[list[ItemScore], list[str]]:
        by_key = {(a.item_id, a.role): a for a in answers}
        cases = [ScoringCase(item, by_key[(item.item_id, role)], by_key.get((item.item_id, TEACHER)))
                 for role in request.roles() for item in items if (item.item_id, role) in by_key]
        scores: list[ItemScore] = []
        for scorer in self.scorers:
            try:
                scores.extend(await scorer.score(cases))
            except CallFailed as exc:
                raise RunError(f"scorer {scorer.name} could not finish: {exc}") from None
        async with self.store() as repo:
            await repo.save_scores(request.run_id, scores)
        ran = [s.name for s in self.scorers] + ["latency", "error_rate", "cost"]
        return scores, ran

    def _aggregate(self, summary: RunSummary) -> None:
        for role, target in summary.request.roles().items():
            summary.roles[role] = role_stats(
                role, target.model, [a for a in summary.answers if a.role == role],
                [s for s in summary.scores if s.role == role], self.cost_of, self.gates.confidence)
        summary.gates = evaluate_gates(summary.roles, set(summary.scorers_ran), self.gates)
        summary.outcome = summary.gates.outcome

    async def _report(self, summary: RunSummary) -> str | None:
        try:
            path = await asyncio.to_thread(write_report, summary, self.reports_dir, self.figures)
        except OSError as exc:
            log.warning("could not write the evaluation report", error=str(exc))
            return None
        return path.resolve().as_uri()

    async def _write_back(self, summary: RunSummary) -> None:
        if self.langfuse is None or not summary.answers:
            return
        generations = [_generation(summary, a) for a in summary.answers]
        try:
            await self.langfuse.record_run(generations)
        except Exception as exc:  # a dashboard outage must not lose the verdict
            log.warning("could not write evaluation scores to Langfuse", error=repr(exc))


def _answer_text(content: str | None, tool_calls: list[dict] | None) -> str:
    from distillery_evaluator.domain.evalset import message_text

    return message_text({"content": content, "tool_calls": tool_calls})


def _set_refs(items: list[EvalItem]) -> list[EvalSetRef]:
    names = list(dict.fromkeys(i.set_name for i in items))
    return [EvalSetRef(name=n, version=EvalSet.of(n, [i for i in items if i.set_name == n]).version,
                       size=sum(1 for i in items if i.set_name == n)) for n in names]


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _generation(summary: RunSummary, answer: Answer) -> EvalGeneration:
    item = summary.items[answer.item_id]
    scores = [ScoreWrite(f"distillery.{s.scorer}", s.value, s.label) for s in summary.scores
              if s.item_id == answer.item_id and s.role == answer.role and s.value is not None]
    usage = ({"input": answer.usage.input_tokens, "output": answer.usage.output_tokens}
             if answer.usage else None)
    return EvalGeneration(summary.request.run_id, answer.item_id, answer.role, answer.model,
                          item.messages, answer.text, usage, answer.error, scores)


def _event(summary: RunSummary, report_uri: str | None) -> EvaluationCompleted:
    r = summary.request
    production = next((t.model for role, t in r.roles().items()
                       if role not in ("candidate", TEACHER)), None)
    return EvaluationCompleted(
        run_id=r.run_id, candidate_model=r.candidate.model, teacher_model=r.teacher.model,
        production_model=production, job_id=r.job_id, dataset_id=r.dataset_id, cycle_id=r.cycle_id,
        eval_sets=summary.eval_sets, outcome=summary.outcome, error_message=summary.error,
        gates=summary.gates.gates if summary.gates else [],
        metrics={s.model: s.metrics for s in summary.roles.values()},
        scorers_ran=summary.scorers_ran, report_uri=report_uri, completed_at=datetime.now(UTC))


def _notes(summary: RunSummary) -> dict[str, Any]:
    return {"skipped_gates": summary.gates.skipped if summary.gates else [],
            "skipped_scorers": summary.skipped_scorers,
            "roles": {role: s.model for role, s in summary.roles.items()}}

