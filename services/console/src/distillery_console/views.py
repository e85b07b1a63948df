"""Every read of the console's pages: view models built from the read model only.

The ``read_*`` functions work over any store, so unit tests read the fake the same way;
:class:`ConsoleViews` opens a session of the console's schema per page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from distillery_console.adapters.store import AbstractConsoleStore, Cycle, JobPoint, OperatorAction, SqlConsoleStore
from distillery_console.domain.answers import Segment, diff_against, is_failing
from distillery_console.domain.charts import Chart, Series, line_chart
from distillery_console.domain.cycles import rollout_state
from distillery_console.domain.savings import CostPoint, cost_point
from distillery_contracts.common import GateResult
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.evaluations import AnswerVerdict, EvaluationCompleted, EvaluationItemScored
from distillery_contracts.finetune import JobCheckpoint, LossPoint
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.model_calendar import ServingNotice, ShutdownWatch, TrainingNotice, advice_lines

CYCLES_ON_OVERVIEW = 20
COST_POINTS = 200


@dataclass(frozen=True)
class LiveRollout:
    rollout_id: str
    candidate_model: str
    stage: int
    stage_percent: float
    state: str
    """active, paused or ended: which steering buttons the page offers."""
    last_decision: str
    last_reason: str
    actor: str


@dataclass(frozen=True)
class Overview:
    routes: list[RouteTableUpdated]
    live: list[LiveRollout]
    cycles: list[Cycle]
    cost_chart: Chart
    cost_now: CostPoint | None
    monthly_saving_usd: float | None
    calls_per_day: float
    going_away: list[ServingNotice] = field(default_factory=list)
    """Routed models whose shutdown is near or past, soonest first."""
    training: TrainingNotice | None = None
    """When the lifecycle guard starts refusing the base model the latest cycle trained, if soon."""

    @property
    def advice(self) -> list[tuple[str, str]]:
        """What to do about the notices, once per kind."""
        return advice_lines(self.going_away, self.training)


@dataclass(frozen=True)
class DatasetView:
    dataset: DatasetBuilt
    previous: DatasetBuilt | None
    rejections: dict[str, int]

    @property
    def examples(self) -> int:
        c = self.dataset.counts
        return c.train_examples + c.validation_examples

    @property
    def change(self) -> int | None:
        """Examples more (or fewer) than the previous dataset."""
        if self.previous is None:
            return None
        c = self.previous.counts
        return self.examples - (c.train_examples + c.validation_examples)


@dataclass(frozen=True)
class CycleView:
    cycle: Cycle
    datasets: list[DatasetView]
    jobs: list[JobPoint]
    loss_chart: Chart
    evaluations: list[EvaluationCompleted]
    decisions: list[RolloutDecided]
    failing_gates: dict[str, list[GateResult]]
    """Per decision id, the gates that did not hold: why a stage held or rolled back."""
    operator_actions: list[OperatorAction]
    gate_charts: list[Chart] = field(default_factory=list)
    """Each rollout gate's value and interval bounds over the cycle's decisions."""
    loss_curves: dict[str, list[LossPoint]] = field(default_factory=dict)
    """Each job's training loss at every logged step (as its latest event carried them)."""
    checkpoints: dict[str, list[JobCheckpoint]] = field(default_factory=dict)
    """Each job's checkpoints, with their losses (as its latest event carried them)."""


@dataclass(frozen=True)
class AnswerRow:
    item: EvaluationItemScored
    failing: bool
    teacher: AnswerVerdict | None
    production: AnswerVerdict | None
    candidate: AnswerVerdict | None
    candidate_diff: list[Segment] = field(default_factory=list)
    production_diff: list[Segment] = field(default_factory=list)


@dataclass(frozen=True)
class AnswersPage:
    evaluation: EvaluationCompleted | None
    run_id: str
    rows: list[AnswerRow]
    failing_only: bool
    page: int
    pages: int
    total: int


async def read_overview(store: AbstractConsoleStore, calls_per_day: float,
                        watch: ShutdownWatch | None = None) -> Overview:
    routes = await store.route_tables()
    live = []
    for table in routes:
        if table.rollout_id is None:
            continue
        decisions = await store.decisions(rollout_id=table.rollout_id, limit=1)
        if decisions:
            d = decisions[-1]
            live.append(LiveRollout(d.rollout_id, d.candidate_model, d.stage_index + 1, d.stage_percent,
                                    rollout_state(d.decision), d.decision.value, d.reason, d.actor))
    points = [p for p in (cost_point(d) for d in await store.decisions(limit=COST_POINTS)) if p is not None]
    chart = line_chart("Cost per call (USD)", [
        Series("teacher alone", [(p.at.timestamp(), p.teacher_usd) for p in points]),
        Series("with the student", [(p.at.timestamp(), p.blended_usd) for p in points]),
    ], x_label=_day, y_label=lambda v: f"${v:.5f}")
    now = points[-1] if points else None
    watch = (watch or ShutdownWatch()).with_published(await store.published_dates())
    trained = await store.latest_training()
    return Overview(routes, live, await store.cycles(CYCLES_ON_OVERVIEW), chart, now,
                    now.monthly_saving(calls_per_day) if now else None, calls_per_day, watch.notices(routes),
                    watch.training(trained.base_model, trained.provider) if trained else None)


async def read_cycle(store: AbstractConsoleStore, cycle_id: str) -> CycleView | None:
    cycle = await store.cycle(cycle_id)
    if cycle is None:
        return None
    datasets = []
    for d in await store.datasets(cycle_id):
        datasets.append(DatasetView(d, await store.dataset_before(d.version), await store.rejections(d.cleaner_versions)))
    jobs = await store.job_points(cycle_id)
    curves = await store.loss_curves(cycle_id)
    decisions = await store.decisions(cycle_id=cycle_id)
    actions = [a for rollout in dict.fromkeys(d.rollout_id for d in decisions)
               for a in await store.operator_actions(rollout)]
    return CycleView(cycle, datasets, jobs, loss_chart(jobs, curves), await store.evaluations(cycle_id), decisions,
                     {d.decision_id: [g for g in d.gates if not g.passed] for d in decisions}, actions,
                     gate_charts(decisions), curves, await store.checkpoints(cycle_id))


def loss_chart(jobs: list[JobPoint], curves: dict[str, list[LossPoint]]) -> Chart:
    """Every logged step's training and validation loss of each job; a job whose events carry no
    curve (published before they did) is drawn from the latest metrics of each of its events."""
    series = []
    job_ids = list(dict.fromkeys([*(j.job_id for j in jobs), *curves]))
    for job_id in job_ids:
        suffix = f" ({job_id})" if len(job_ids) > 1 else ""
        curve = curves.get(job_id)
        if curve:
            train = [(float(p.step), p.train_loss) for p in curve]
            valid = [(float(p.step), p.valid_loss) for p in curve if p.valid_loss is not None]
        else:
            points = [j for j in jobs if j.job_id == job_id and j.step is not None]
            train = [(float(j.step or 0), j.train_loss) for j in points if j.train_loss is not None]
            valid = [(float(j.step or 0), j.valid_loss) for j in points if j.valid_loss is not None]
        series += [Series(f"train{suffix}", train), Series(f"validation{suffix}", valid)]
    return line_chart("Training loss by step", series)


def gate_charts(decisions: list[RolloutDecided]) -> list[Chart]:
    """One chart per gate the decisions evaluated: its value, interval bounds and threshold in time."""
    names = list(dict.fromkeys(g.name for d in decisions for g in d.gates))
    charts = []
    for name in names:
        points = [(d.decided_at.timestamp(), g) for d in decisions for g in d.gates if g.name == name]
        charts.append(line_chart(f"{name} gate over the rollout", [
            Series("threshold", [(t, g.threshold) for t, g in points]),
            Series("value", [(t, g.value) for t, g in points if g.value is not None]),
            Series("interval low", [(t, g.ci_low) for t, g in points if g.ci_low is not None]),
            Series("interval high", [(t, g.ci_high) for t, g in points if g.ci_high is not None]),
        ], x_label=_day))
    return charts


async def read_answers(store: AbstractConsoleStore, run_id: str, failing_only: bool, page: int,
                       page_size: int) -> AnswersPage:
    total = await store.count_items(run_id, failing_only)
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    items = await store.items(run_id, failing_only, (page - 1) * page_size, page_size)
    return AnswersPage(await store.evaluation(run_id), run_id, [_row(i) for i in items], failing_only,
                       page, pages, total)


def _row(item: EvaluationItemScored) -> AnswerRow:
    by_role = {a.role: a for a in item.answers}
    teacher, production, candidate = by_role.get("teacher"), by_role.get("production"), by_role.get("candidate")
    reference = teacher.text if teacher else None
    return AnswerRow(item, is_failing(item), teacher, production, candidate,
                     diff_against(reference, candidate.text if candidate else None),
                     diff_against(reference, production.text if production else None))


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %b %H:%M")


StoreOpener = Callable[[], AbstractAsyncContextManager[AbstractConsoleStore]]
"""Opens the store for one page's reads: a session of the console's schema, or a fake."""


def sql_stores(sessions: async_sessionmaker[AsyncSession]) -> StoreOpener:
    @asynccontextmanager
    async def open_store() -> AsyncIterator[AbstractConsoleStore]:
        async with sessions() as session:
            yield SqlConsoleStore(session)

    return open_store


class ConsoleViews:
    """The pages' reads, each in a store (a session) of its own."""

    def __init__(self, open_store: StoreOpener, calls_per_day: float, page_size: int,
                 watch: ShutdownWatch | None = None) -> None:
        self.open_store = open_store
        self.calls_per_day = calls_per_day
        self.page_size = page_size
        self.watch = watch or ShutdownWatch()

    async def overview(self) -> Overview:
        async with self.open_store() as store:
            return await read_overview(store, self.calls_per_day, self.watch)

    async def cycle(self, cycle_id: str) -> CycleView | None:
        async with self.open_store() as store:
            return await read_cycle(store, cycle_id)

    async def answers(self, run_id: str, failing_only: bool, page: int) -> AnswersPage:
        async with self.open_store() as store:
            return await read_answers(store, run_id, failing_only, page, self.page_size)
