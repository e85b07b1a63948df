"""The console store in memory, for unit tests: the same answers as the SQL store (one
contract suite runs on both), and what was written kept in plain dicts to assert on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from distillery_console.adapters.data_store import AbstractDataStore
from distillery_console.adapters.erasure_store import erasures
from distillery_console.adapters.health import AbstractHealthProbe, GroupLag, ServiceHealth
from distillery_console.adapters.store import AbstractConsoleStore, Cycle, JobPoint, OperatorAction, TrainedBase
from distillery_console.domain.cycles import CycleStep
from distillery_console.domain.data import ExampleRow, LetterGroup, LetterRow
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.evaluations import EvaluationCompleted, EvaluationItemScored
from distillery_contracts.finetune import FinetuneJobChanged, JobCheckpoint, LossPoint, PublishedDates
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.privacy import StoreErasure
from distillery_runtime.erasure import AbstractErasureStore, Caller
from distillery_runtime.model_calendar import Published
from distillery_runtime.outbox import OutgoingMessage


class FakeConsoleStore(AbstractConsoleStore):
    def __init__(self) -> None:
        self.tables: dict[str, RouteTableUpdated] = {}
        self.cycle_rows: dict[str, Cycle] = {}
        self.dataset_rows: dict[str, DatasetBuilt] = {}
        self.job_rows: dict[str, tuple[str, FinetuneJobChanged]] = {}
        self.curve_rows: dict[str, FinetuneJobChanged] = {}
        self.evaluation_rows: dict[str, EvaluationCompleted] = {}
        self.item_rows: dict[tuple[str, str], tuple[EvaluationItemScored, bool]] = {}
        self.decision_rows: dict[str, RolloutDecided] = {}
        self.rejection_counts: Counter[tuple[str, str]] = Counter()
        self.actions: dict[str, OperatorAction] = {}

    async def save_route_table(self, table: RouteTableUpdated) -> None:
        known = self.tables.get(table.route)
        if known is None or known.version <= table.version:
            self.tables[table.route] = table

    async def apply_cycle_step(self, step: CycleStep) -> None:
        known = self.cycle_rows.get(step.cycle_id)
        if known is None:
            self.cycle_rows[step.cycle_id] = Cycle(step.cycle_id, step.at, step.at, step.phase, step.candidate_model)
            return
        newer = step.supersedes(known.updated_at)
        model = (step.candidate_model if newer else known.candidate_model) or known.candidate_model \
            or step.candidate_model
        self.cycle_rows[step.cycle_id] = Cycle(step.cycle_id, min(known.started_at, step.at),
                                               max(known.updated_at, step.at),
                                               step.phase if newer else known.phase, model)

    async def save_dataset(self, dataset: DatasetBuilt) -> None:
        self.dataset_rows.setdefault(dataset.dataset_id, dataset)

    async def save_job_event(self, event_id: str, job: FinetuneJobChanged) -> None:
        self.job_rows.setdefault(event_id, (event_id, job))

    async def save_loss_curve(self, job: FinetuneJobChanged) -> None:
        known = self.curve_rows.get(job.job_id)
        if known is None or (job.occurred_at, len(job.loss_curve)) > (known.occurred_at, len(known.loss_curve)):
            self.curve_rows[job.job_id] = job

    async def save_evaluation(self, evaluation: EvaluationCompleted) -> None:
        self.evaluation_rows.setdefault(evaluation.run_id, evaluation)

    async def save_items(self, items: list[tuple[EvaluationItemScored, bool]]) -> None:
        for item, failing in items:
            self.item_rows.setdefault((item.run_id, item.item_id), (item, failing))

    async def save_decision(self, decision: RolloutDecided) -> None:
        self.decision_rows.setdefault(decision.decision_id, decision)

    async def add_rejections(self, counts: dict[tuple[str, str], int]) -> None:
        self.rejection_counts.update(counts)

    async def save_operator_action(self, action: OperatorAction) -> None:
        self.actions.setdefault(action.action_id, action)

    async def route_tables(self) -> list[RouteTableUpdated]:
        return [self.tables[r] for r in sorted(self.tables)]

    async def cycles(self, limit: int) -> list[Cycle]:
        ordered = sorted(self.cycle_rows.values(), key=lambda c: c.cycle_id)
        return sorted(ordered, key=lambda c: c.started_at, reverse=True)[:limit]

    async def cycle(self, cycle_id: str) -> Cycle | None:
        return self.cycle_rows.get(cycle_id)

    async def datasets(self, cycle_id: str) -> list[DatasetBuilt]:
        return sorted((d for d in self.dataset_rows.values() if d.cycle_id == cycle_id), key=lambda d: d.version)

    async def dataset_before(self, version: int) -> DatasetBuilt | None:
        older = [d for d in self.dataset_rows.values() if d.version < version]
        return max(older, key=lambda d: d.version) if older else None

    async def job_points(self, cycle_id: str) -> list[JobPoint]:
        rows = sorted((j for j in self.job_rows.values() if j[1].cycle_id == cycle_id),
                      key=lambda j: (j[1].occurred_at, j[0]))
        return [JobPoint(j.job_id, j.status.value, j.occurred_at, j.metrics.step, j.metrics.train_loss,
                         j.metrics.valid_loss) for _, j in rows]

    async def latest_training(self) -> TrainedBase | None:
        if not self.job_rows:
            return None
        _, job = max(self.job_rows.values(), key=lambda j: (j[1].occurred_at, j[0]))
        return TrainedBase(job.base_model, job.provider)

    async def published_dates(self) -> list[Published]:
        latest: dict[tuple[str, str], PublishedDates] = {}
        for _, job in sorted(self.job_rows.values(), key=lambda row: (row[1].occurred_at, row[0])):
            if job.base_model_dates is not None:  # in time order, each key moved to the end: oldest first
                latest.pop((job.provider, job.base_model), None)
                latest[(job.provider, job.base_model)] = job.base_model_dates
        return [(provider, model, dates) for (provider, model), dates in latest.items()]

    async def loss_curves(self, cycle_id: str) -> dict[str, list[LossPoint]]:
        return {job_id: list(job.loss_curve) for job_id, job in sorted(self.curve_rows.items())
                if job.cycle_id == cycle_id and job.loss_curve}

    async def checkpoints(self, cycle_id: str) -> dict[str, list[JobCheckpoint]]:
        return {job_id: list(job.checkpoints) for job_id, job in sorted(self.curve_rows.items())
                if job.cycle_id == cycle_id and job.checkpoints}

    async def evaluations(self, cycle_id: str) -> list[EvaluationCompleted]:
        return sorted((e for e in self.evaluation_rows.values() if e.cycle_id == cycle_id),
                      key=lambda e: e.completed_at)

    async def evaluation(self, run_id: str) -> EvaluationCompleted | None:
        return self.evaluation_rows.get(run_id)

    async def items(self, run_id: str, failing_only: bool, offset: int, limit: int) -> list[EvaluationItemScored]:
        chosen = [i for i, failing in self.item_rows.values() if i.run_id == run_id and (failing or not failing_only)]
        return sorted(chosen, key=lambda i: (i.position, i.item_id))[offset:offset + limit]

    async def count_items(self, run_id: str, failing_only: bool) -> int:
        return sum(1 for i, failing in self.item_rows.values() if i.run_id == run_id and (failing or not failing_only))

    async def decisions(self, *, cycle_id: str | None = None, rollout_id: str | None = None,
                        limit: int = 200) -> list[RolloutDecided]:
        chosen = [d for d in self.decision_rows.values()
                  if (cycle_id is None or d.cycle_id == cycle_id) and (rollout_id is None or d.rollout_id == rollout_id)]
        latest = sorted(chosen, key=lambda d: (d.decided_at, d.decision_id), reverse=True)[:limit]
        return sorted(latest, key=lambda d: d.decided_at)

    async def rejections(self, cleaner_versions: list[str]) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (version, reason), n in self.rejection_counts.items():
            if version in cleaner_versions:
                totals[reason] += n
        return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))

    async def operator_actions(self, rollout_id: str) -> list[OperatorAction]:
        return sorted((a for a in self.actions.values() if a.rollout_id == rollout_id), key=lambda a: a.requested_at)


class FakeDataStore(AbstractDataStore):
    """Examples and letters in dicts; ``outbox`` records what a republish queued."""

    def __init__(self, items: FakeConsoleStore | None = None) -> None:
        self.example_rows: dict[str, ExampleRow] = {}
        self.letter_rows: dict[str, LetterRow] = {}
        self.outbox: list[OutgoingMessage] = []
        self.items = items
        """The console store whose evaluation items retention forgets."""

    async def save_examples(self, rows: list[ExampleRow]) -> None:
        for row in rows:
            self.example_rows.setdefault(row.example_id, row)

    async def save_letters(self, rows: list[LetterRow]) -> None:
        for row in rows:
            self.letter_rows.setdefault(row.letter_id, row)

    async def cleaner_versions(self) -> list[str]:
        latest: dict[str, datetime] = {}
        for r in self.example_rows.values():
            latest[r.cleaner_version] = max(latest.get(r.cleaner_version, r.at), r.at)
        return sorted(sorted(latest), key=lambda v: latest[v], reverse=True)

    async def example_counts(self, cleaner_version: str) -> dict[str, int]:
        counts = Counter((r.kind, r.reason or r.kind) for r in self.example_rows.values()
                         if r.cleaner_version == cleaner_version)
        ordered = sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
        return {label: n for (_, label), n in ordered}

    async def examples(self, cleaner_version: str, kind: str, reason: str | None, offset: int,
                       limit: int) -> list[ExampleRow]:
        chosen = [r for r in self.example_rows.values() if r.cleaner_version == cleaner_version and r.kind == kind
                  and (reason is None or r.reason == reason)]
        chosen.sort(key=lambda r: r.example_id)
        return sorted(chosen, key=lambda r: r.at, reverse=True)[offset:offset + limit]

    async def letter_groups(self) -> list[LetterGroup]:
        counts = Counter((r.source_topic, r.error_type) for r in self.letter_rows.values())
        done = Counter((r.source_topic, r.error_type) for r in self.letter_rows.values() if r.republished_at)
        ordered = sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
        return [LetterGroup(topic, error, n, done[(topic, error)]) for (topic, error), n in ordered]

    async def letters(self, source_topic: str | None, error_type: str | None, offset: int,
                      limit: int) -> list[LetterRow]:
        chosen = sorted(self._letters(source_topic, error_type), key=lambda r: r.letter_id)
        return sorted(chosen, key=lambda r: r.failed_at, reverse=True)[offset:offset + limit]

    async def count_letters(self, source_topic: str | None, error_type: str | None) -> int:
        return len(self._letters(source_topic, error_type))

    async def letter(self, letter_id: str) -> LetterRow | None:
        return self.letter_rows.get(letter_id)

    async def republish(self, letter_id: str, message: OutgoingMessage, operator: str, reason: str,
                        at: datetime) -> None:
        self.outbox.append(message)
        self.letter_rows[letter_id] = replace(self.letter_rows[letter_id], republished_by=operator,
                                              republished_at=at, republish_reason=reason)

    async def forget_examples(self, before: datetime, limit: int) -> int:
        return _forget(self.example_rows, lambda r: r.at < before, limit)

    async def forget_letters(self, before: datetime, limit: int) -> int:
        return _forget(self.letter_rows, lambda r: r.failed_at < before, limit)

    async def forget_items(self, before: datetime, limit: int) -> int:
        if self.items is None:
            return 0
        return _forget(self.items.item_rows, lambda row: row[0].scored_at < before, limit)

    def _letters(self, source_topic: str | None, error_type: str | None) -> list[LetterRow]:
        return [r for r in self.letter_rows.values()
                if (source_topic is None or r.source_topic == source_topic)
                and (error_type is None or r.error_type == error_type)]


def _forget(rows: dict[Any, Any], old: Callable[[Any], bool], limit: int) -> int:
    doomed = [k for k, row in rows.items() if old(row)][:limit]
    for k in doomed:
        del rows[k]
    return len(doomed)


class FakeErasureStore(AbstractErasureStore):
    """Erases from a fake console store and a fake data store as the SQL statement does."""

    def __init__(self, console: FakeConsoleStore, data: FakeDataStore) -> None:
        self.console = console
        self.data = data

    async def erase(self, caller: Caller) -> list[StoreErasure]:
        s, tr = caller.session_id, caller.trace_id
        traces = {tr} if tr else set()
        traces |= {r.trace_id for r in self.data.example_rows.values() if s and r.session_id == s}
        items = _forget(self.console.item_rows, lambda row: row[0].trace_id in traces, len(self.console.item_rows))
        examples = _forget(self.data.example_rows, lambda r: (s and r.session_id == s) or r.trace_id == tr,
                           len(self.data.example_rows))
        letters = _forget(self.data.letter_rows,
                          lambda r: (s and r.session_id == s) or (tr and r.trace_id == tr) or r.original_key == (s or tr),
                          len(self.data.letter_rows))
        return erasures(items, examples, letters)


class FakeHealthProbe(AbstractHealthProbe):
    """Answers what the test set; ``broker_down`` makes the lag unreadable."""

    def __init__(self, services: list[ServiceHealth] | None = None, lags: list[GroupLag] | None = None) -> None:
        self.up = services or []
        self.lag_rows = lags or []
        self.broker_down = False

    async def services(self) -> list[ServiceHealth]:
        return list(self.up)

    async def lags(self) -> list[GroupLag]:
        if self.broker_down:
            raise ConnectionError("broker unreachable")
        return list(self.lag_rows)
