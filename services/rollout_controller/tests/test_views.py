"""What the HTTP API and the CLI show, read over the fake repository the use cases filled."""

from __future__ import annotations

from datetime import timedelta

from distillery_rollout_controller.views import read_costs, read_rollout, read_status


async def test_status_shows_the_live_stage_its_weights_time_in_stage_and_last_decision(harness):
    await harness.passed_evaluation()
    await harness.pass_stage(0)
    harness.clock.advance(90)

    doc = await read_status(harness.repo, harness.controller.config, harness.clock())

    live = doc.live
    assert (live.rollout_id, live.status, live.stage_index, live.stage_percent) == ("ro-0001", "active", 1, 25.0)
    assert live.weights == {"candidate": 25.0, "teacher": 75.0} and live.seconds_in_stage == 90
    assert live.last_decision.decision.value == "advanced" and live.decisions is None
    assert doc.table.version == 3 and doc.costs is not None


async def test_one_rollout_is_shown_with_every_decision_and_an_unknown_one_as_none(harness):
    await harness.passed_evaluation()
    await harness.pass_stage(0)
    config, now = harness.controller.config, harness.clock()

    view = await read_rollout(harness.repo, config, "ro-0001", now)

    assert [d.decision.value for d in view.decisions] == ["started", "advanced"]
    assert await read_rollout(harness.repo, config, "ro-0404", now) is None


async def test_before_the_first_table_there_is_no_cost_report_and_no_rollout(harness):
    doc = await read_status(harness.repo, harness.controller.config, harness.clock())

    assert (doc.table, doc.rollouts, doc.costs, doc.live) == (None, [], None, None)
    assert await read_costs(harness.repo, harness.controller.config, harness.clock() + timedelta(days=1)) is None
