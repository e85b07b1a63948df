"""The read model from the recorded cycle: phases, costs, answers, and the same model
whatever order a replay reads the topics in."""

from __future__ import annotations

import random

import pytest
from recorded_streams import feed
from recorded_streams import CYCLE, ITEMS, RUN, hallucinated, recorded_cycle

from distillery_console.adapters.fakes import FakeConsoleStore
from distillery_console.views import read_answers, read_cycle, read_overview


async def test_the_overview_shows_the_cycle_at_its_rollout_stage_and_the_route_weights(fed_store):
    overview = await read_overview(fed_store, calls_per_day=10_000)
    assert [(c.cycle_id, c.phase) for c in overview.cycles][0] == (CYCLE, "rollout stage 2 (25%)")
    assert [(a.name, a.weight) for a in overview.routes[0].arms] == [("candidate", 25.0), ("teacher", 75.0)]
    assert [(r.rollout_id, r.state, r.last_decision) for r in overview.live] == [("ro-0042", "active", "held")]


async def test_the_monthly_saving_is_the_teacher_cost_minus_the_weighted_mix_times_a_month_of_calls(fed_store):
    overview = await read_overview(fed_store, calls_per_day=1_000)
    # 25 % of calls at $0.0004 and 75 % at $0.004: $0.0031 a call against $0.004, for 30,000 calls.
    assert overview.cost_now is not None
    assert overview.cost_now.blended_usd == pytest.approx(0.0031)
    assert overview.monthly_saving_usd == pytest.approx((0.004 - 0.0031) * 30_000)
    assert len(overview.cost_chart.lines) == 2


async def test_a_cycle_shows_the_dataset_diff_the_rejections_the_losses_and_the_failing_gate(fed_store):
    view = await read_cycle(fed_store, CYCLE)
    assert view is not None
    dataset = view.datasets[0]
    assert dataset.previous is not None and dataset.previous.dataset_id == "ds-0041"
    assert dataset.rejections == {"hallucination": 3, "too_long": 2}
    assert [j.status for j in view.jobs] == ["queued", "running", "succeeded"]
    assert [len(line.points.split()) for line in view.loss_chart.lines] == [100, 10]  # every logged step
    held = view.failing_gates["ro-0042:1:held"]
    assert [(g.name, g.ci_low, g.ci_high) for g in held] == [("hallucination", 0.031, 0.094)]
    assert view.failing_gates["ro-0042:1:advanced"] == []


async def test_failing_answers_are_exactly_the_hallucinated_ones_in_order(fed_store):
    page = await read_answers(fed_store, RUN, failing_only=True, page=1, page_size=50)
    assert [r.item.position for r in page.rows] == [i for i in range(ITEMS) if hallucinated(i)]
    everything = await read_answers(fed_store, RUN, failing_only=False, page=1, page_size=5)
    assert (everything.total, everything.pages, len(everything.rows)) == (ITEMS, 3, 5)
    last = await read_answers(fed_store, RUN, failing_only=False, page=99, page_size=5)
    assert (last.page, [r.item.position for r in last.rows]) == (3, [10, 11])


async def test_a_replay_in_any_order_rebuilds_the_same_read_model():
    live = FakeConsoleStore()
    await feed(live, recorded_cycle())
    for seed in range(5):
        shuffled = recorded_cycle()
        random.Random(seed).shuffle(shuffled)
        rebuilt = FakeConsoleStore()
        await feed(rebuilt, shuffled)
        assert await rebuilt.cycles(10) == await live.cycles(10), seed
        assert await rebuilt.route_tables() == await live.route_tables()


async def test_an_older_event_arriving_late_does_not_move_a_cycle_back():
    events = recorded_cycle()
    store = FakeConsoleStore()
    await feed(store, [e for e in events if e[0] != "distillery.datasets.built.v1"])
    await feed(store, [e for e in events if e[0] == "distillery.datasets.built.v1"])
    cycle = await store.cycle(CYCLE)
    assert cycle is not None and cycle.phase == "rollout stage 2 (25%)"
    assert cycle.started_at == next(e.built_at for t, e in events if getattr(e, "dataset_id", "") == "ds-0042")


async def test_each_rollout_gate_is_charted_with_its_value_interval_and_threshold_over_time(fed_store):
    view = await read_cycle(fed_store, CYCLE)
    assert view is not None
    [chart] = view.gate_charts  # the recorded decisions evaluated one gate, "hallucination"
    assert chart.title == "hallucination gate over the rollout"
    points = {line.name: len(line.points.split()) for line in chart.lines}
    assert points == {"threshold": 2, "value": 2, "interval low": 2, "interval high": 2}
