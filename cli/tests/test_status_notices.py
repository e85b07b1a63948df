"""``distillery status`` names the routed models going away in a table, soonest first, red once
stopped, and says once for the teacher and once for the students what to do; model names are
printed as they are, never read as markup."""

from __future__ import annotations

from datetime import date

from rich.console import Console

from distillery_cli.status import render_notices
from distillery_runtime.model_calendar import ServingNotice

STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::s42"


def notice(model: str, days_left: int, arm: str = "candidate") -> ServingNotice:
    return ServingNotice("voice-agent", arm, model, "openai", 45.0, date(2027, 1, 14), days_left)


def printed(notices: list[ServingNotice], training=None) -> str:  # noqa: ANN001
    console = Console(record=True, width=200)
    console.print(render_notices(notices, training))
    return console.export_text()


def test_each_model_is_a_row_and_each_kind_of_arm_gets_its_advice_once():
    text = printed([notice(STUDENT, 38), notice(STUDENT.replace("s42", "s41"), 38, "production"),
                    notice("gpt-4.1", 38, "teacher")])
    assert "Going away" in text
    rows = [line for line in text.splitlines() if "voice-agent" in line]
    assert len(rows) == 3 and all("│ 2027-01-14 │ 38 " in r for r in rows), rows
    assert STUDENT in rows[0] and "45%" in rows[0] and "teacher" in rows[2]
    assert text.count("A student: its calls fall back to the teacher") == 1
    assert text.count("The teacher: its calls fail from then on") == 1


def test_the_trained_base_models_last_day_comes_first_with_its_own_advice():
    from distillery_runtime.model_calendar import TrainingNotice

    training = TrainingNotice("gpt-4o-mini-2024-07-18", "openai", date(2026, 12, 15), 8)
    text = printed([notice("gpt-4.1", 38, "teacher")], training)
    rows = [line for line in text.splitlines() if "│ 20" in line]
    assert "training (last day)" in rows[0] and "│ 2026-12-15 │ 8 " in rows[0] and "teacher" in rows[1]
    assert "Training: after its last day the lifecycle guard refuses the job" in " ".join(text.split())
    assert [row.style for row in render_notices([], TrainingNotice("m", "openai", date(2026, 12, 15), -1)).rows] \
        == ["red"]


def test_a_stopped_model_is_red_and_one_still_answering_yellow():
    table = render_notices([notice(STUDENT, 1), notice("gpt-4.1", 0, "teacher")])
    assert [row.style for row in table.rows] == ["yellow", "red"]


def test_a_model_name_with_brackets_is_printed_as_it_is():
    assert "ft:gpt-4o-mini:[red]x[/]::1" in printed([notice("ft:gpt-4o-mini:[red]x[/]::1", 3)])


def test_status_takes_the_latest_jobs_base_model_for_the_training_notice(monkeypatch):
    from datetime import UTC, datetime, timedelta

    from distillery_cli.demo.monitor import PipelineView
    from distillery_cli.status import going_away
    from distillery_contracts.samples import sample_finetune_job_changed
    from distillery_runtime.model_calendar import ShutdownNoticeSettings

    for name in ("DISTILLERY_CONSOLE_MODEL_CALENDAR", "DISTILLERY_FINETUNE_CALENDAR",
                 "DISTILLERY_CONSOLE_MIN_SERVICE_LIFE_DAYS", "DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS",
                 "DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS"):
        monkeypatch.delenv(name, raising=False)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    view = PipelineView()
    view.cycle("cycle-1").jobs.append(sample_finetune_job_changed(provider="openai", occurred_at=at))
    view.cycle("cycle-2").jobs.append(sample_finetune_job_changed(
        provider="selfhosted", base_model="smollm2-135m", occurred_at=at - timedelta(days=1)))
    watch = ShutdownNoticeSettings().watch(lambda: datetime(2026, 12, 7, 12, tzinfo=UTC))
    notices, training = going_away(view, watch)
    assert notices == [] and (training.base_model, training.last_day) == ("gpt-4o-mini-2024-07-18", date(2026, 12, 15))
    view.cycle("cycle-2").jobs.append(sample_finetune_job_changed(
        provider="selfhosted", base_model="smollm2-135m", occurred_at=at + timedelta(days=1)))
    assert going_away(view, watch)[1] is None
    assert going_away(PipelineView(), watch) == ([], None)


def test_status_warns_of_an_azure_arm_by_the_date_azure_published(monkeypatch):
    from datetime import UTC, datetime, timedelta

    from distillery_cli.demo.monitor import PipelineView
    from distillery_cli.status import going_away
    from distillery_contracts.finetune import PublishedDates
    from distillery_contracts.samples import sample_finetune_job_changed, sample_route_table
    from distillery_runtime.model_calendar import ShutdownWatch

    at = datetime(2026, 12, 1, tzinfo=UTC)
    view = PipelineView()
    for days, shutdown in ((0, date(2027, 1, 31)), (-1, date(2027, 3, 1))):  # the later event's holds
        view.cycle(f"cycle-{days}").jobs.append(sample_finetune_job_changed(
            job_id=f"job-{days}", occurred_at=at + timedelta(days=days),
            base_model_dates=PublishedDates(source="Azure model deprecation", shutdown=shutdown)))
    azure_student = "gpt-4o-mini-2024-07-18.ft-0123abcd"
    view.routes["clinic"] = sample_route_table(route="clinic", arms=[
        {"name": "production", "model": azure_student, "provider": "azure", "weight": 100.0}])
    notices, training = going_away(view, ShutdownWatch(clock=lambda: datetime(2026, 12, 7, 12, tzinfo=UTC)))
    assert [(n.model, n.provider, n.shutdown, n.days_left) for n in notices] == [
        (azure_student, "azure", date(2027, 1, 31), 55)]
    assert (training.provider, training.last_day) == ("azure", date(2027, 1, 1))  # 30 days before
