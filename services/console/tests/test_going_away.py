"""The overview warns of a routed model going away, from the notice period on, in the page's
live part; a model with a later shutdown, or none, is not named."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from recorded_streams import STUDENT, T0, TEACHER, feed, fixed_clock, opener
from starlette.applications import Starlette
from starlette.testclient import TestClient

from distillery_console import services
from distillery_console.http import console_routes
from distillery_contracts.finetune import PublishedDates
from distillery_contracts.registry import FINETUNE_JOBS, ROUTING_TABLE
from distillery_contracts.samples import sample_finetune_job_changed, sample_route_table
from distillery_console.domain.shutdowns import DailyWarnings
from distillery_console.views import ConsoleViews
from distillery_runtime.model_calendar import CalendarEntry, ShutdownWatch, default_calendar
from distillery_runtime.uow import FakeUnitOfWork


def client(store, watch: ShutdownWatch) -> TestClient:
    views = ConsoleViews(opener(store), calls_per_day=10_000, page_size=50, watch=watch)
    app = Starlette(routes=console_routes(views, FakeUnitOfWork, fixed_clock, refresh_s=5))
    return TestClient(app, base_url="http://console.test")


def on(day: date, horizon_days: int = 60, calendar=None) -> ShutdownWatch:
    return ShutdownWatch(default_calendar() if calendar is None else calendar, horizon_days,
                         lambda: datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


@pytest.mark.parametrize("path", ["/", "/live"])
def test_both_routed_models_are_named_with_their_day_and_what_to_do(fed_store, path):
    page = client(fed_store, on(date(2026, 12, 7))).get(path).text
    assert "Going away" in page
    assert (f'<li class="soon" data-model="{STUDENT}" data-days-left="38"><span class="model">{STUDENT}</span> '
            "(openai), the candidate arm of voice-agent at 25%, shuts down on 2027-01-14, in 38 days</li>") in page
    assert f'data-model="{TEACHER}" data-days-left="38"' in page
    # what to do, once per kind of arm
    assert page.count("<strong>A student</strong>: its calls fall back to the teacher") == 1
    assert page.count("<strong>The teacher</strong>: its calls fail from then on") == 1 and "set another teacher" in page


def test_nothing_is_said_before_the_notice_period(fed_store):
    page = client(fed_store, on(date(2026, 11, 15))).get("/").text  # 60 days before: said
    assert "Going away" in page
    page = client(fed_store, on(date(2026, 11, 14))).get("/").text  # 61 days before: not yet
    assert "Going away" not in page and STUDENT in page


def test_a_stopped_model_is_marked_as_stopped(fed_store):
    page = client(fed_store, on(date(2027, 1, 20))).get("/").text
    assert f'<li class="stopped" data-model="{STUDENT}" data-days-left="-6">' in page
    assert "shut down on 2027-01-14</li>" in page


def test_a_calendar_without_dates_for_the_routed_models_says_nothing(fed_store):
    calendar = {"gpt-4.1-mini": CalendarEntry(shutdown=date(2026, 12, 8))}
    assert "Going away" not in client(fed_store, on(date(2026, 12, 7), calendar=calendar)).get("/").text


async def trained_next(store, provider: str, base_model: str = "gpt-4o-mini-2024-07-18") -> None:
    """A later cycle's job, after the recorded one (which trained on Azure, whose dates are its own)."""
    await feed(store, [(FINETUNE_JOBS, sample_finetune_job_changed(
        job_id="job-0043", cycle_id="cycle-0043", provider=provider, base_model=base_model, deployment_name=None,
        occurred_at=T0 + timedelta(days=7)))])


async def test_the_guards_last_day_for_the_trained_base_model_is_said_before_it_comes(fed_store):
    await trained_next(fed_store, "openai")
    page = client(fed_store, on(date(2026, 12, 7))).get("/").text
    # gpt-4o-mini stops on 2027-01-14, so the 30-day minimum service life refuses it after 2026-12-15
    assert ('<li class="training soon" data-base-model="gpt-4o-mini-2024-07-18" data-days-left="8">New '
            'fine-tuning jobs for <span class="model">gpt-4o-mini-2024-07-18</span> (openai), which the latest cycle '
            "trained, are accepted until 2026-12-15 (8 days left)</li>") in page
    assert "<strong>Training</strong>: after its last day the lifecycle guard refuses the job and the cycle stops" in page
    assert "<code>DISTILLERY_FINETUNE_AUTO_FALLBACK=true</code> (or <code>DISTILLERY_FINETUNE_PROVIDER=selfhosted</code>)" \
        in page  # the settings to copy, as code
    later = client(fed_store, on(date(2026, 12, 16))).get("/").text
    assert '<li class="training stopped" data-base-model="gpt-4o-mini-2024-07-18" data-days-left="-1">' in later
    assert "have been refused since 2026-12-16" in later


async def test_the_minimum_service_life_moves_the_guards_last_day(fed_store):
    await trained_next(fed_store, "openai")
    watch = ShutdownWatch(default_calendar(), 60, lambda: datetime(2026, 12, 7, tzinfo=UTC), 0)
    assert "are accepted until 2027-01-06 (30 days left)" in client(fed_store, watch).get("/").text


async def test_a_student_trained_on_the_users_own_hosts_has_no_last_day(fed_store):
    await trained_next(fed_store, "selfhosted", "smollm2-135m")
    page = client(fed_store, on(date(2026, 12, 7))).get("/").text
    assert 'class="training' not in page and "Going away" in page  # the routed models still are


AZURE_STUDENT = "gpt-4o-mini-2024-07-18.ft-0123abcd"


async def on_azure(store, *shutdowns: date) -> None:
    """Jobs trained on Azure, each event with the shutdown Azure published for the base model then;
    and a route whose production arm is one of them, on Azure."""
    await feed(store, [(FINETUNE_JOBS, sample_finetune_job_changed(
        job_id=f"job-az-{i}", cycle_id=f"cycle-az-{i}", occurred_at=T0 + timedelta(days=7 + i),
        base_model_dates=PublishedDates(source="Azure model deprecation", shutdown=day)))
        for i, day in enumerate(shutdowns)])
    await feed(store, [(ROUTING_TABLE, sample_route_table(
        route="clinic-azure", version=1, updated_at=T0 + timedelta(days=9), arms=[
            {"name": "production", "model": AZURE_STUDENT, "provider": "azure", "deployment": "clinic-0007",
             "weight": 90.0},
            {"name": "teacher", "model": TEACHER, "provider": "openai", "weight": 10.0}]))])


async def test_an_azure_arm_is_warned_of_by_the_date_azure_publishes(fed_store):
    await on_azure(fed_store, date(2027, 3, 1), date(2027, 1, 31))  # the later event's date holds
    page = client(fed_store, on(date(2026, 12, 7))).get("/").text
    assert (f'<li class="soon" data-model="{AZURE_STUDENT}" data-days-left="55"><span class="model">{AZURE_STUDENT}'
            "</span> (azure), the production arm of clinic-azure at 90%, shuts down on 2027-01-31, in 55 days</li>"
            ) in page
    assert "Going away" not in client(fed_store, on(date(2026, 12, 1), horizon_days=10)).get("/").text


async def test_without_a_published_date_the_calendars_azure_entry_holds(fed_store):
    await on_azure(fed_store)  # the route only: no job carried Azure's dates
    calendar = {**default_calendar(), "azure:gpt-4o-mini": CalendarEntry(shutdown=date(2027, 2, 1))}
    page = client(fed_store, on(date(2026, 12, 7), calendar=calendar)).get("/").text
    assert f'data-model="{AZURE_STUDENT}" data-days-left="56"' in page
    assert f'data-model="{AZURE_STUDENT}"' not in client(fed_store, on(date(2026, 12, 7))).get("/").text


async def test_the_gauges_and_the_log_know_the_date_azure_publishes(fed_store):
    await on_azure(fed_store, date(2027, 6, 1))
    known, training = await services.lifecycle_outlook(fed_store, on(date(2026, 12, 7)))
    assert [(n.route, n.arm, n.shutdown) for n in known if n.provider == "azure"] == [
        ("clinic-azure", "production", date(2027, 6, 1))]
    assert (training.base_model, training.provider, training.last_day) == (
        "gpt-4o-mini-2024-07-18", "azure", date(2027, 5, 2))  # 30 days before Azure's shutdown


def test_settings_in_advice_are_code_and_the_rest_is_escaped():
    from distillery_console.http import settings_as_code

    assert settings_as_code("set DISTILLERY_FINETUNE_PROVIDER=selfhosted, DISTILLERY_FINETUNE_FALLBACK_MODEL "
                            "and <b>") == ("set <code>DISTILLERY_FINETUNE_PROVIDER=selfhosted</code>, "
                                           "<code>DISTILLERY_FINETUNE_FALLBACK_MODEL</code> and &lt;b&gt;")


def test_each_warning_is_logged_once_a_day_and_only_todays_are_remembered():
    warnings, monday, tuesday = DailyWarnings(), date(2026, 12, 7), date(2026, 12, 8)
    assert warnings.due("voice-agent/teacher/gpt-4.1", monday)
    assert not warnings.due("voice-agent/teacher/gpt-4.1", monday)
    assert warnings.due("training/openai/gpt-4o-mini", monday)
    assert warnings.due("voice-agent/teacher/gpt-4.1", tuesday)
    assert warnings.given == {"voice-agent/teacher/gpt-4.1"}

