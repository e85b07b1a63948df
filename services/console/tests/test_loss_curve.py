"""The cycle page plots every training loss the job logged, from the latest job event that
carries a curve; a job whose events carry none is drawn from their latest metrics."""

from __future__ import annotations

import asyncio
import random
import re
from datetime import timedelta

from recorded_streams import CYCLE, LOGGED_STEPS, T0, feed, fixed_clock, loss_curve, opener, recorded_cycle
from starlette.applications import Starlette
from starlette.testclient import TestClient

from distillery_console.adapters.fakes import FakeConsoleStore
from distillery_console.domain.charts import HEIGHT, PAD
from distillery_console.http import console_routes
from distillery_console.views import ConsoleViews, read_cycle
from distillery_contracts.registry import FINETUNE_JOBS
from distillery_contracts.samples import sample_finetune_job_changed
from distillery_runtime.uow import FakeUnitOfWork


def plotted(view) -> dict[str, list[tuple[float, float]]]:  # noqa: ANN001
    return {line.name: [tuple(map(float, p.split(","))) for p in line.points.split()]
            for line in view.loss_chart.lines}


async def test_the_chart_has_a_point_for_every_logged_step_of_the_succeeded_event(fed_store):
    view = await read_cycle(fed_store, CYCLE)
    assert view is not None
    lines = plotted(view)
    assert [len(lines["train"]), len(lines["validation"])] == [LOGGED_STEPS, LOGGED_STEPS // 10]
    xs = [x for x, _ in lines["train"]]
    assert xs == sorted(xs) and len(set(xs)) == LOGGED_STEPS  # one x per step, left to right
    # the loss falls as it was logged: the last step is drawn lower (a larger y) than the first
    assert lines["train"][-1][1] > lines["train"][0][1]
    assert lines["train"][-1][1] <= HEIGHT - PAD
    [(job_id, curve)] = view.loss_curves.items()
    assert (job_id, [p.step for p in curve]) == ("job-0042", list(range(1, LOGGED_STEPS + 1)))


async def test_the_latest_event_wins_whatever_order_a_replay_reads_them_in():
    for seed in range(4):
        events = recorded_cycle()
        random.Random(seed).shuffle(events)
        store = FakeConsoleStore()
        await feed(store, events)
        curves = await store.loss_curves(CYCLE)
        assert [len(c) for c in curves.values()] == [LOGGED_STEPS], seed


async def test_an_older_or_curveless_event_never_replaces_a_stored_curve():
    store = FakeConsoleStore()
    job = dict(job_id="job-1", dataset_id="ds-1", cycle_id="cycle-1", fine_tuned_model=None)
    await feed(store, [
        (FINETUNE_JOBS, sample_finetune_job_changed(**job, status="running", loss_curve=loss_curve(30),
                                                    occurred_at=T0 + timedelta(hours=2))),
        (FINETUNE_JOBS, sample_finetune_job_changed(**job, status="queued", loss_curve=loss_curve(5),
                                                    occurred_at=T0 + timedelta(hours=1))),
        (FINETUNE_JOBS, sample_finetune_job_changed(**job, status="cancelled", occurred_at=T0 + timedelta(hours=3))),
    ])
    assert [len(c) for c in (await store.loss_curves("cycle-1")).values()] == [30]


async def test_a_job_without_a_curve_is_drawn_from_its_events_metrics_and_two_jobs_are_told_apart():
    store = FakeConsoleStore()
    old = dict(job_id="job-old", dataset_id="ds-1", cycle_id="cycle-1", fine_tuned_model=None, status="running")
    await feed(store, [
        (FINETUNE_JOBS, sample_finetune_job_changed(**old, metrics={"step": 10, "train_loss": 1.0},
                                                    occurred_at=T0)),
        (FINETUNE_JOBS, sample_finetune_job_changed(
            job_id="job-new", dataset_id="ds-2", cycle_id="cycle-1", fine_tuned_model=None, status="running",
            loss_curve=loss_curve(20), occurred_at=T0 + timedelta(hours=1))),
    ])
    view = await read_cycle(store, "cycle-1")
    assert view is not None
    assert {name: len(points) for name, points in plotted(view).items()} == {
        "train (job-old)": 1, "train (job-new)": 20, "validation (job-new)": 2}


def test_the_cycle_page_draws_every_point_and_says_how_many_steps(fed_store):
    views = ConsoleViews(opener(fed_store), calls_per_day=10_000, page_size=50)
    app = Starlette(routes=console_routes(views, lambda: FakeUnitOfWork(), fixed_clock, refresh_s=5))
    page = TestClient(app, base_url="http://console.test").get(f"/cycles/{CYCLE}").text
    [train] = re.findall(r'points="([^"]*)"><title>train</title>', page)
    assert len(train.split()) == LOGGED_STEPS
    assert f"job-0042: {LOGGED_STEPS} logged step(s), training loss" in page


def test_the_cycle_page_lists_each_checkpoint_with_its_model_and_losses():
    store = FakeConsoleStore()
    job = dict(job_id="job-1", dataset_id="ds-1", cycle_id="cycle-1", status="running", fine_tuned_model=None)
    checkpoints = [{"step": 10, "model": "ft:gpt-4o-mini:acme::ckpt-step-10", "train_loss": 1.2, "valid_loss": 1.4},
                   {"step": 20, "model": "ft:gpt-4o-mini:acme::ckpt-step-20", "train_loss": 0.8}]
    asyncio.run(feed(store, [
        (FINETUNE_JOBS, sample_finetune_job_changed(**job, checkpoints=checkpoints[:1], occurred_at=T0)),
        (FINETUNE_JOBS, sample_finetune_job_changed(**job | {"status": "queued"}, occurred_at=T0 - timedelta(hours=1))),
        (FINETUNE_JOBS, sample_finetune_job_changed(**job | {"status": "succeeded", "fine_tuned_model": "ft:gpt-4o-mini:acme::job-1"}, checkpoints=checkpoints,
                                                    occurred_at=T0 + timedelta(hours=1))),
    ]))
    views = ConsoleViews(opener(store), calls_per_day=10_000, page_size=50)
    app = Starlette(routes=console_routes(views, lambda: FakeUnitOfWork(), fixed_clock, refresh_s=5))
    page = TestClient(app, base_url="http://console.test").get("/cycles/cycle-1").text

    [table] = re.findall(r'<table class="checkpoints">.*?</table>', page, re.S)
    rows = re.findall(r"<tr><td>(\d+)</td><td><code>([^<]+)</code></td>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td></tr>", table)
    assert [(step, model) for step, model, _, _ in rows] == [
        ("10", "ft:gpt-4o-mini:acme::ckpt-step-10"), ("20", "ft:gpt-4o-mini:acme::ckpt-step-20")]
    assert rows[1][3] == "—"  # no validation loss measured at step 20
