"""The evaluator's use cases: remembering what other services said, queueing offline runs
and live calls, carrying a run to its EvaluationCompleted and scoring live calls.

Handlers call the first group inside the delivery's unit of work. Runs and live calls are
scored by background workers (app.py) through :class:`OfflineEvaluator` and
:class:`OnlineEvaluator`: a run makes hundreds of model calls, far too long to hold a
consumer batch and its transaction open, so each stores what it made as it goes and a
run taken over after a crash only asks for what is missing. Whatever stops a run (an
endpoint that keeps failing, an unreadable eval set) ends it as outcome ``error``, never
a pass. The pure steps are in domain/ (runs.py, live.py); the report in report.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distillery_contracts.commands import RunEvaluation
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.envelope import Envelope
from distillery_contracts.evaluations import CallScored, EvalOutcome, EvaluationCompleted, EvaluationItemScored
from distillery_contracts.finetune import FinetuneJobChanged, JobStatus
from distillery_contracts.registry import EVALUATIONS_COMPLETED, EVALUATIONS_ITEMS, EVALUATIONS_ONLINE
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.privacy import EraseCaller
from distillery_contracts.traces import TraceCaptured
from distillery_evaluator.adapters.chat import (
    AbstractChatClient,
    CallFailed,
    CallPolicy,
    ChatEndpoints,
    MissingEndpoint,
    complete_with_retries,
)
from distillery_evaluator.adapters.langfuse_sink import AbstractLangfuseSink, EvalGeneration, ScoreWrite
from distillery_evaluator.adapters.repository import AbstractEvalRepository, QueuedCall, RunRecord
from distillery_evaluator.adapters.sources import GoldenLoader
from distillery_evaluator.domain import live, runs
from distillery_evaluator.domain.evalset import VALIDATION, EvalItem, EvalSet, EvalSetError, validation_items
from distillery_evaluator.domain.gates import GateConfig
from distillery_evaluator.domain.items import scored_items
from distillery_evaluator.domain.metrics import CostFn
from distillery_evaluator.domain.requests import ModelTarget, RunRequest, run_id_for_command, run_id_for_job
from distillery_evaluator.domain.results import DETERMINISTIC, TEACHER, Answer, ItemScore
from distillery_evaluator.report import strip_examples, write_report
from distillery_evaluator.scorers import Scorer, ScoringCase
from distillery_runtime import erasure
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.fencing import LostLease
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.logs import get_logger
from distillery_runtime.sizes import EventTooLarge
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)

RepoFor = Callable[[UnitOfWork], AbstractEvalRepository]
"""The evaluator's store inside a unit of work (SqlEvalRepository in production)."""


# What other services told us: applied in the delivery's transaction.

async def remember_dataset(repo: AbstractEvalRepository, dataset: DatasetBuilt) -> None:
    await repo.remember_dataset(dataset)


async def remember_route(repo: AbstractEvalRepository, table: RouteTableUpdated) -> None:
    await repo.save_route(table)


async def remember_rollout(repo: AbstractEvalRepository, decision: RolloutDecided) -> None:
    await repo.save_rollout(decision)


async def evaluate_finetuned_model(repo: AbstractEvalRepository, job: FinetuneJobChanged, cause: Envelope,
                                   teacher: ModelTarget, route: str) -> None:
    """A job that produced a model queues one run of it against the production student."""
    if job.status is not JobStatus.SUCCEEDED or not job.fine_tuned_model:
        return
    await repo.remember_model(job.fine_tuned_model, job.provider, job.deployment_name,
                              job.job_id, job.dataset_id)
    found = await repo.validation_uri(job.dataset_id)
    request = RunRequest(
        run_id=run_id_for_job(job.job_id, job.fine_tuned_model), trigger="finetune",
        candidate=ModelTarget(model=job.fine_tuned_model, deployment=job.deployment_name,
                              provider=job.provider),
        teacher=teacher, production=await repo.production(route),
        job_id=job.job_id, dataset_id=job.dataset_id, cycle_id=job.cycle_id,
        validation_uri=found[1] if found else None)
    if await repo.create_run(request, cause.model_dump(mode="json")):
        log.info("evaluation queued", run_id=request.run_id, model=job.fine_tuned_model)


async def request_evaluation(repo: AbstractEvalRepository, command: RunEvaluation, cause: Envelope,
                             teacher: ModelTarget, route: str) -> None:
    """An operator's run: against the baselines it names, else the production student."""
    found = await repo.validation_uri(command.dataset_id)
    baselines = [await repo.target_of(b) for b in command.baselines]
    request = RunRequest(
        run_id=run_id_for_command(command.command_id), trigger="command",
        candidate=await repo.target_of(command.model),
        teacher=teacher, baselines=baselines,
        production=None if baselines else await repo.production(route),
        dataset_id=found[0] if found else command.dataset_id,
        validation_uri=found[1] if found else None, requested_by=command.requested_by)
    await repo.create_run(request, cause.model_dump(mode="json"))
    log.info("evaluation requested", run_id=request.run_id, model=command.model,
             requested_by=command.requested_by)


async def queue_live_calls(repo: AbstractEvalRepository, traces: Sequence[tuple[TraceCaptured, Envelope]],
                           sample_rate: float) -> None:
    """Queue a sample of the calls served under a rollout that has not ended."""
    picked = []
    for trace, cause in traces:
        meta = live.rollout_metadata(trace)
        rate = live.arm_sample_rate(sample_rate, trace.metadata.get("arm_weight"))
        if meta is not None and live.sampled(trace.observation_id, rate):
            picked.append((trace, cause, meta[0]))
    if not picked:
        return
    ended = await repo.ended_rollouts(sorted({rollout for _, _, rollout in picked}))
    await repo.enqueue_calls([QueuedCall(trace.observation_id, rollout, trace.model_dump(mode="json"),
                                         cause.model_dump(mode="json"), 0)
                              for trace, cause, rollout in picked if rollout not in ended])


# Offline runs.

async def erase_callers(uow: UnitOfWork, store: AbstractErasureStore, commands: Sequence[EraseCaller]) -> None:
    """Remove each caller's sampled live calls and their scores."""
    await erasure.erase_callers(uow, store, "evaluator", commands)


_HELD: ContextVar[RunRecord | None] = ContextVar("evaluation_run_held", default=None)
"""The run this task carries under a lease: every save of it checks the lease first (the
context is copied into the tasks that ask the models, so their saves check it too)."""


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

    new_uow: Callable[[], UnitOfWork]
    repo_for: RepoFor
    endpoints: ChatEndpoints
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

    @asynccontextmanager
    async def store(self) -> AsyncIterator[AbstractEvalRepository]:
        """One transaction on the store, committed when the block ends; inside a run, it first
        checks that the run's lease is still this instance's (``LostLease`` otherwise)."""
        async with self.new_uow() as uow:
            repo = self.repo_for(uow)
            if (held := _HELD.get()) is not None:
                await repo.hold_run(held.run_id, held.lease_token)
            yield repo
            await uow.commit()

    async def run_next(self) -> bool:
        """Take the oldest waiting run and carry it to its verdict; False when none waits."""
        async with self.store() as repo:
            record = await repo.claim_run(datetime.now(UTC), self.limits.lease)
        if record is None:
            return False
        log.info("evaluation started", run_id=record.run_id, model=record.request.candidate.model)
        held = _HELD.set(record)
        try:
            async with self._leased(record):
                event, notes, items = await self.carry(record)
            await self.finish(record, event, notes, items)
        except RunDeferred as exc:
            log.info("evaluation deferred", run_id=record.run_id, reason=str(exc))
            async with self.store() as repo:  # the lease runs out soon and the run is retaken
                await repo.renew_lease(record.run_id, record.lease_token, datetime.now(UTC) + timedelta(seconds=2))
        except LostLease as exc:
            log.warning("evaluation taken over by another instance; its work here is dropped",
                        run_id=record.run_id, error=str(exc))
        finally:
            _HELD.reset(held)
        return True

    @asynccontextmanager
    async def _leased(self, record: RunRecord) -> AsyncIterator[None]:
        """Renew the run's lease every third of it while the block runs (answers, judges, the
        report), so no other instance takes the run over and pays for its calls again; when the
        lease turns out lost, the block is cancelled and ``LostLease`` raised."""
        owner = asyncio.current_task()
        lost: list[LostLease] = []

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.limits.lease.total_seconds() / 3)
                try:
                    async with self.store() as repo:
                        await repo.renew_lease(record.run_id, record.lease_token, datetime.now(UTC) + self.limits.lease)
                except LostLease as exc:
                    lost.append(exc)
                    if owner is not None:
                        owner.cancel()
                    return
                except Exception as exc:  # the database may be back before the lease runs out
                    log.warning("could not renew an evaluation's lease; will retry", run_id=record.run_id,
                                error=repr(exc)[:300])

        renewer = asyncio.create_task(renew())
        try:
            yield
        except asyncio.CancelledError:
            if not lost or owner is None:
                raise
            owner.uncancel()
            raise lost[0] from None
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def finish(self, record: RunRecord, event: EvaluationCompleted, notes: dict[str, Any],
                     items: Sequence[EvaluationItemScored] = ()) -> None:
        """Store the verdict and publish it with each scored item, in one transaction (if the
        lease is still ours). An item over the event size limit is left out, not the verdict."""
        cause = Envelope.model_validate(record.cause) if record.cause else None
        correlation_id = (cause.correlation_id if cause else None) or event.cycle_id
        async with self.new_uow() as uow:
            await self.repo_for(uow).hold_run(record.run_id, record.lease_token)
            await self.repo_for(uow).finish_run(record.run_id, event.outcome.value,
                                                event.model_dump(mode="json"), notes, event.completed_at)
            for item in items:
                try:
                    uow.emit(EVALUATIONS_ITEMS, item, cause=cause, correlation_id=correlation_id)
                except EventTooLarge as exc:
                    log.warning("scored item left unpublished", run_id=record.run_id, item_id=item.item_id,
                                reason=str(exc))
            uow.emit(EVALUATIONS_COMPLETED, event, cause=cause, correlation_id=correlation_id)
            await uow.commit()
        log.info("evaluation finished", run_id=record.run_id, outcome=event.outcome.value,
                 report=event.report_uri)

    async def execute(self, record: RunRecord) -> tuple[EvaluationCompleted, dict[str, Any]]:
        """Carry ``record`` to its end; returns the event to publish and notes to store."""
        event, notes, _ = await self.carry(record)
        return event, notes

    async def carry(self, record: RunRecord) -> tuple[EvaluationCompleted, dict[str, Any], list[EvaluationItemScored]]:
        """:meth:`execute`, and each item with its answers and verdicts (evaluations.items)."""
        request = record.request
        summary = runs.RunSummary(request, EvalOutcome.ERROR, skipped_scorers=list(self.skipped_scorers))
        try:
            clients = self._clients(request)
            items = await self._items(request, record.requested_at)
            summary.items = {i.item_id: i for i in items}
            summary.eval_sets = runs.set_refs(items)
            summary.answers = await self._answers(request, items, clients)
            if failures := runs.too_many_failures(request, summary.answers, self.limits.max_failed_share):
                raise RunError(failures)
            summary.scores, summary.scorers_ran = await self._score(request, items, summary.answers)
            runs.aggregate(summary, self.cost_of, self.gates)
        except RunDeferred:
            raise
        except (RunError, CallFailed, EvalSetError) as exc:
            summary.outcome, summary.error = EvalOutcome.ERROR, str(exc) or type(exc).__name__
            log.warning("evaluation run ended in error", run_id=request.run_id, error=summary.error)
        except Exception as exc:
            if is_infrastructure_error(exc):
                raise  # the database is down: keep the run; it resumes when it is back
            # anything else (a bug, an unreadable file) ends the run visibly, never retried forever
            log.exception("evaluation run failed", run_id=request.run_id)
            summary.outcome, summary.error = EvalOutcome.ERROR, f"{type(exc).__name__}: {exc}"
        report_uri = await self._report(summary)
        await self._write_back(summary)
        event = runs.completed_event(summary, report_uri)
        return event, runs.run_notes(summary), scored_items(summary, event.completed_at)

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
            for s in sets:  # a validation set is only read from its file
                source = request.validation_uri or "" if s.name == VALIDATION else "golden"
                await repo.record_eval_set(s.version, s.name, len(s), source)
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

    def _clients(self, request: RunRequest) -> dict[str, AbstractChatClient]:
        """The endpoint answering for each role; a student no endpoint serves ends the run
        with that one configuration line instead of a run of failed calls."""
        try:
            return {role: self.endpoints.for_role(role, target) for role, target in request.roles().items()}
        except MissingEndpoint as exc:
            raise RunError(str(exc)) from None

    async def _answers(self, request: RunRequest, items: list[EvalItem],
                       clients: dict[str, AbstractChatClient]) -> list[Answer]:
        async with self.store() as repo:
            done = {(a.item_id, a.role): a for a in await repo.answers(request.run_id) if a.ok}
        todo = [(item, role, target) for role, target in request.roles().items()
                for item in items if (item.item_id, role) not in done]
        limit = asyncio.Semaphore(self.limits.concurrency)
        pending: list[Answer] = []

        async def answer(item: EvalItem, role: str, target: ModelTarget) -> Answer:
            async with limit:
                result = await self._ask(clients[role], item, role, target)
            pending.append(result)
            if len(pending) >= self.limits.save_every:
                await self._save(request.run_id, pending)
            return result

        fresh = await asyncio.gather(*(answer(*job) for job in todo))
        await self._save(request.run_id, pending)
        return [*done.values(), *fresh]

    async def _ask(self, client: AbstractChatClient, item: EvalItem, role: str,
                   target: ModelTarget) -> Answer:
        try:
            done = await complete_with_retries(
                client, target, item.messages, self.limits.policy, tools=item.tools,
                max_tokens=self.limits.max_tokens, temperature=self.limits.temperature)
        except CallFailed as exc:
            return Answer(item.item_id, role, target.model, None, error=str(exc), attempts=exc.attempts)
        c = done.completion
        return Answer(item.item_id, role, target.model, runs.answer_text(c.content, c.tool_calls),
                      round(done.latency_ms, 3), c.usage, None, done.attempts, c.tool_calls)

    async def _save(self, run_id: str, pending: list[Answer]) -> None:
        batch, pending[:] = list(pending), []
        if batch:
            async with self.store() as repo:
                await repo.save_answers(run_id, batch)

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
        return scores, [s.name for s in self.scorers] + ["latency", "error_rate", "cost"]

    async def _report(self, summary: runs.RunSummary) -> str | None:
        try:
            path = await asyncio.to_thread(write_report, summary, self.reports_dir, self.figures)
        except OSError as exc:
            log.warning("could not write the evaluation report", error=str(exc))
            return None
        return path.resolve().as_uri()

    async def _write_back(self, summary: runs.RunSummary) -> None:
        if self.langfuse is None or not summary.answers:
            return
        try:
            await self.langfuse.record_run([_generation(summary, a) for a in summary.answers])
        except Exception as exc:  # a dashboard outage must not lose the verdict
            log.warning("could not write evaluation scores to Langfuse", error=repr(exc))


def _generation(summary: runs.RunSummary, answer: Answer) -> EvalGeneration:
    item = summary.items[answer.item_id]
    scores = [ScoreWrite(f"distillery.{s.scorer}", s.value, s.label) for s in summary.scores
              if s.item_id == answer.item_id and s.role == answer.role and s.value is not None]
    usage = ({"input": answer.usage.input_tokens, "output": answer.usage.output_tokens}
             if answer.usage else None)
    return EvalGeneration(summary.request.run_id, answer.item_id, answer.role, answer.model,
                          item.messages, answer.text, usage, answer.error, scores)


# Live calls.

@dataclass
class OnlineEvaluator:
    """Scores queued live calls in batches, like offline answers: for a student's call the
    teacher is asked the same input and the judge and similarity scorer compare the two;
    the teacher's own calls are checked against their conversation. Each scored call
    becomes a CallScored on ``evaluations.online`` and scores on its Langfuse trace."""

    new_uow: Callable[[], UnitOfWork]
    repo_for: RepoFor
    models: AbstractChatClient
    teacher: ModelTarget
    scorers: Sequence[Scorer]
    cost_of: CostFn
    policy: CallPolicy
    attempts: int = 5
    batch: int = 16
    lease: timedelta = timedelta(seconds=120)
    langfuse: AbstractLangfuseSink | None = None

    async def score_pending(self) -> int:
        """Score one batch of queued calls; returns how many were taken."""
        async with self.new_uow() as uow:
            calls = await self.repo_for(uow).claim_calls(self.batch, datetime.now(UTC), self.lease)
            await uow.commit()
        for call in calls:
            await self._score_call(call)
        return len(calls)

    async def _score_call(self, call: QueuedCall) -> None:
        trace = TraceCaptured.model_validate(call.trace)
        meta = live.rollout_metadata(trace)
        assert meta is not None  # only rollout calls are queued
        rollout_id, arm, stage = meta
        item, answer = live.case_of(trace, arm)
        teacher: Answer | None = None
        try:
            teacher = await self._teacher_answer(item, trace, arm, answer)
            scores = await self._run_scorers(ScoringCase(item, answer, teacher))
        except CallFailed as exc:
            if call.attempts + 1 < self.attempts:
                await self._defer(call, exc)
                return
            log.warning("scoring a live call without the teacher", observation=call.observation_id,
                        error=str(exc))
            teacher, scores = None, await self._run_scorers(ScoringCase(item, answer, None), local=True)
        event = live.call_scored(trace, rollout_id, arm, stage, answer, scores, self.cost_of)
        findings = [f for s in scores for f in s.detail.get("findings", [])]
        try:
            async with self.new_uow() as uow:
                await self.repo_for(uow).finish_call(
                    call, arm, event.model, event.model_dump(mode="json"),
                    teacher.text if teacher else None, findings, event.scored_at)
                uow.emit(EVALUATIONS_ONLINE, event, cause=Envelope.model_validate(call.cause))
                await uow.commit()
        except LostLease:  # scored too slowly: another instance took the call and publishes its score
            log.warning("live call claimed again while being scored; this score is dropped",
                        observation=call.observation_id)
            return
        await self._write_back(trace, event)

    async def _teacher_answer(self, item: EvalItem, trace: TraceCaptured, arm: str,
                              answer: Answer) -> Answer | None:
        if arm == TEACHER or not answer.ok:
            return None
        done = await complete_with_retries(
            self.models, self.teacher, item.messages, self.policy, tools=item.tools,
            max_tokens=trace.model_parameters.max_tokens, temperature=trace.model_parameters.temperature)
        c = done.completion
        return Answer(item.item_id, TEACHER, self.teacher.model, runs.answer_text(c.content, c.tool_calls),
                      done.latency_ms, c.usage)

    async def _run_scorers(self, case: ScoringCase, local: bool = False) -> list[ItemScore]:
        scores: list[ItemScore] = []
        for scorer in self.scorers:
            if local and scorer.name != DETERMINISTIC:  # the others need the teacher or a judge
                continue
            scores.extend(await scorer.score([case]))
        return scores

    async def _defer(self, call: QueuedCall, exc: CallFailed) -> None:
        wait = timedelta(seconds=min(300.0, self.policy.backoff_s * 10 * 2 ** call.attempts))
        log.info("live call not scored yet; will retry", observation=call.observation_id,
                 attempt=call.attempts + 1, error=str(exc))
        async with self.new_uow() as uow:
            await self.repo_for(uow).defer_call(call.observation_id, call.attempts + 1,
                                                datetime.now(UTC) + wait)
            await uow.commit()

    async def _write_back(self, trace: TraceCaptured, event: CallScored) -> None:
        if self.langfuse is None:
            return
        scores = [ScoreWrite("distillery.hallucination", event.hallucination_score)
                  if event.hallucination_score is not None else None,
                  ScoreWrite("distillery.judge", str(event.judge_outcome)) if event.judge_outcome else None,
                  ScoreWrite("distillery.similarity", event.similarity)
                  if event.similarity is not None else None]
        try:
            await self.langfuse.score_trace(trace.trace_id, trace.observation_id,
                                            [s for s in scores if s is not None])
        except Exception as exc:  # the event is out; a dashboard outage must not block scoring
            log.warning("could not write live scores to Langfuse", error=repr(exc))


async def forget_old_calls(repo: AbstractEvalRepository, retention: timedelta, limit: int, now: datetime) -> int:
    """Delete at most ``limit`` live calls queued longer ago than ``retention``, with their scores:
    a queued call holds the caller's words, and what it was queued for is published (its
    CallScored) or, that long after, no longer evidence for any stage."""
    return await repo.forget_calls(now - retention, now, limit)


async def forget_old_run_details(repo: AbstractEvalRepository, reports_dir: Path, retention: timedelta,
                                 limit: int, now: datetime) -> int:
    """Delete at most ``limit`` rows each of the items, answers and scores of runs finished longer
    ago than ``retention``, and the examples their reports quote; returns how many rows.

    Validation prompts are callers' (redacted) words and carry no session or trace id, so erase
    cannot find them: this bounds them instead. Nothing reads them once a run is finished (a run
    resumes from its own rows only while it runs; each run asks the production student afresh),
    and the verdict, gates and metrics stay in ``runs`` and in the report. A report that cannot
    be rewritten raises, so the rows stay with it and the next round tries both again."""
    forgotten = await repo.forget_run_details(now - retention, limit)
    for run_id in sorted(forgotten.run_ids):
        await asyncio.to_thread(strip_examples, reports_dir, run_id)
    return forgotten.rows
