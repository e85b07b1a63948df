"""Which routed models an operator is warned of: those that still get calls and stop within the
notice period, fine-tunes with their base, never open weights on the user's own hosts by the
hosted providers' '*' entry; and the line that says what happens then and what to do."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from distillery_contracts.finetune import PublishedDates
from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.model_calendar import (
    CalendarEntry,
    ShutdownNoticeSettings,
    ShutdownWatch,
    advice_lines,
    calendar_entry,
    default_calendar,
    last_training_day,
    serving_notices,
    shutdown_day,
    training_notice,
    with_published,
)

TODAY = date(2026, 12, 7)
SHUTDOWN = date(2027, 1, 14)  # the default calendar's: 38 days from TODAY
STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::s42"


def table(*arms: tuple[str, str, str, float], route: str = "voice-agent") -> RouteTableUpdated:
    return RouteTableUpdated(route=route, version=1, updated_at=datetime(2026, 12, 1, tzinfo=UTC), arms=[
        {"name": name, "model": model, "provider": provider, "weight": weight}
        for name, model, provider, weight in arms])


PRODUCTION = table(("candidate", STUDENT, "openai", 90.0), ("teacher", "gpt-4.1-2025-04-14", "openai", 10.0))


def on(day: date):  # noqa: ANN201 - a clock that reads ``day``
    return lambda: datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def notices(tables, horizon_days=60, today=TODAY, calendar=None):
    return serving_notices(tables, default_calendar() if calendar is None else calendar, today, horizon_days)


def test_a_student_fine_tuned_on_gpt_4o_mini_and_the_gpt_4_1_teacher_are_both_going_away():
    found = notices([PRODUCTION])
    assert [(n.arm, n.model, n.shutdown, n.days_left) for n in found] == [
        ("candidate", STUDENT, SHUTDOWN, 38), ("teacher", "gpt-4.1-2025-04-14", SHUTDOWN, 38)]


def test_the_notice_starts_exactly_the_notice_period_before_the_shutdown():
    assert len(notices([PRODUCTION], horizon_days=38)) == 2
    assert notices([PRODUCTION], horizon_days=37) == []


def test_an_arm_with_no_calls_is_not_a_notice_and_any_share_of_calls_is():
    idle = table(("candidate", STUDENT, "openai", 0.0), ("teacher", "gpt-5", "openai", 100.0))
    assert notices([idle]) == []
    trickle = table(("candidate", STUDENT, "openai", 0.5), ("teacher", "gpt-5", "openai", 99.5))
    assert [n.weight for n in notices([trickle])] == [0.5]


def test_the_shutdown_day_counts_as_stopped_and_the_day_before_does_not():
    on_the_day = notices([PRODUCTION], today=SHUTDOWN)[0]
    assert (on_the_day.days_left, on_the_day.stopped) == (0, True)
    assert "shut down on 2027-01-14;" in on_the_day.text
    eve = notices([PRODUCTION], today=SHUTDOWN - timedelta(days=1))[0]
    assert (eve.days_left, eve.stopped) == (1, False)
    assert "shuts down on 2027-01-14, in 1 day;" in eve.text
    after = notices([PRODUCTION], today=SHUTDOWN + timedelta(days=3))[0]
    assert (after.days_left, after.stopped) == (-3, True)


def test_open_weights_on_the_users_hosts_ignore_the_hosted_providers_window():
    calendar = {"*": CalendarEntry(shutdown=date(2027, 1, 1))}
    assert shutdown_day(calendar, "ft:smollm2-135m:clinic::a1", "selfhosted") is None
    assert shutdown_day(calendar, "ft:smollm2-135m:clinic::a1", "openai") == date(2027, 1, 1)
    named = {"*": CalendarEntry(), "qwen2.5-7b-instruct": CalendarEntry(shutdown=date(2027, 1, 2))}
    assert shutdown_day(named, "qwen2.5-7b-instruct", "selfhosted") == date(2027, 1, 2)


@pytest.mark.parametrize(("model", "day"), [
    ("gpt-4o-mini", SHUTDOWN),
    ("gpt-4o-mini-2024-07-18", SHUTDOWN),
    ("ft:gpt-4o-mini-2024-07-18:clinic::s42", SHUTDOWN),
    ("gpt-4o-mini-2024-07-18.ft-0123abcd", SHUTDOWN),  # Azure's fine-tuned name
    ("gpt-4.1-mini-2025-04-14", None),  # a different model, not gpt-4.1
    ("gpt-5", None),
])
def test_a_fine_tune_stops_with_its_base_model(model, day):
    assert shutdown_day(default_calendar(), model, "openai") == day


def test_the_soonest_shutdown_comes_first():
    calendar = {"gpt-4.1": CalendarEntry(shutdown=date(2027, 2, 1)), "gpt-4o-mini": CalendarEntry(shutdown=SHUTDOWN)}
    found = notices([PRODUCTION], calendar=calendar)
    assert [n.model for n in found] == [STUDENT, "gpt-4.1-2025-04-14"]


def test_the_teachers_notice_says_to_set_another_teacher_and_a_students_to_train_on_open_weights():
    student, teacher = notices([PRODUCTION])
    assert teacher.text.startswith("gpt-4.1-2025-04-14 (openai), the teacher arm of route voice-agent at 10%, "
                                   "shuts down on 2027-01-14, in 38 days; its calls fail from then on")
    assert "DISTILLERY_ROLLOUT_TEACHER_MODEL" in teacher.text and "open weights" not in teacher.text
    assert "fall back to the teacher" in student.text and "DISTILLERY_FINETUNE_PROVIDER=selfhosted" in student.text


def test_the_finetune_controllers_calendar_is_read_unless_the_consoles_own_is_set(monkeypatch):
    monkeypatch.setenv("DISTILLERY_FINETUNE_CALENDAR", '{"gpt-4.1": {"shutdown": "2027-03-01"}}')
    assert ShutdownNoticeSettings().model_calendar == {"gpt-4.1": CalendarEntry(shutdown=date(2027, 3, 1))}
    monkeypatch.setenv("DISTILLERY_CONSOLE_MODEL_CALENDAR", "{}")
    settings = ShutdownNoticeSettings()
    assert settings.model_calendar == {} and settings.watch(on(TODAY)).notices([PRODUCTION]) == []


def test_the_default_calendar_is_the_designs_dates_which_are_openais():
    retiring = CalendarEntry(fine_tune_until=date(2027, 1, 6), shutdown=SHUTDOWN)
    assert default_calendar() == {"openai:*": CalendarEntry(fine_tune_until=date(2027, 1, 6)),
                                  "openai:gpt-4o-mini": retiring, "openai:gpt-4.1": retiring}
    assert shutdown_day(default_calendar(), "gpt-4.1", "azure") is None


def test_the_most_specific_entry_applies_whatever_the_order():
    own, any_provider, provider_wide, hosted = (CalendarEntry(shutdown=date(2027, m, 1)) for m in (1, 2, 3, 4))
    calendar = {"*": hosted, "azure:*": provider_wide, "gpt-4.1": any_provider, "azure:gpt-4.1": own}
    assert calendar_entry(calendar, "gpt-4.1-2025-04-14", "azure") is own
    assert calendar_entry(calendar, "gpt-4.1-2025-04-14", "openai") is any_provider
    assert calendar_entry(calendar, "gpt-5", "azure") is provider_wide
    assert calendar_entry({"azure:*": provider_wide, "gpt-4.1": any_provider}, "gpt-4.1", "azure") is any_provider
    assert calendar_entry(calendar, "gpt-5", "openai") is hosted
    assert calendar_entry(calendar, "gpt-5", "selfhosted") is None
    assert calendar_entry({"selfhosted:*": own}, "qwen2.5-7b", "selfhosted") is own
    assert calendar_entry({"azure:gpt-4.1": own}, "gpt-4.1", None) is None


def test_an_idle_or_undated_arm_does_not_hide_the_arms_after_it():
    idle_first = table(("production", "gpt-4.1", "openai", 0.0), ("candidate", STUDENT, "openai", 100.0))
    undated_first = table(("teacher", "gpt-5", "openai", 10.0), ("candidate", STUDENT, "openai", 90.0))
    assert [n.arm for n in notices([idle_first])] == ["candidate"]
    assert [n.arm for n in notices([undated_first])] == ["candidate"]


def test_a_routed_open_weights_student_is_not_warned_of_by_the_hosted_window():
    calendar = {"*": CalendarEntry(shutdown=date(2027, 1, 1))}
    routed = table(("candidate", "ft:qwen2.5-7b:clinic::a1", "selfhosted", 90.0), ("teacher", "gpt-5", "openai", 10.0))
    assert [(n.arm, n.provider) for n in notices([routed], calendar=calendar)] == [("teacher", "openai")]


def test_the_settings_warn_from_their_notice_period_on_the_day_given(monkeypatch):
    monkeypatch.delenv("DISTILLERY_CONSOLE_MODEL_CALENDAR", raising=False)
    monkeypatch.delenv("DISTILLERY_FINETUNE_CALENDAR", raising=False)
    monkeypatch.setenv("DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS", "38")
    assert [n.days_left for n in ShutdownNoticeSettings().watch(on(TODAY)).notices([PRODUCTION])] == [38, 38]
    assert ShutdownNoticeSettings().watch(on(TODAY - timedelta(days=1))).notices([PRODUCTION]) == []


def test_the_last_training_day_is_the_window_or_the_service_life_before_shutdown_whichever_is_first():
    mini = "gpt-4o-mini-2024-07-18"
    assert last_training_day(default_calendar(), mini, "openai", 30) == date(2026, 12, 15)
    assert last_training_day(default_calendar(), mini, "openai", 0) == date(2027, 1, 6)
    assert last_training_day(default_calendar(), mini, "openai", 8) == date(2027, 1, 6)
    assert last_training_day(default_calendar(), mini, "openai", 9) == date(2027, 1, 5)
    assert last_training_day({"gpt-5": CalendarEntry(shutdown=SHUTDOWN)}, "gpt-5", "openai", 0) == SHUTDOWN
    assert last_training_day(default_calendar(), "gpt-5", "openai", 30) == date(2027, 1, 6)  # openai:*
    assert last_training_day({"gpt-5": CalendarEntry()}, "gpt-5", "openai", 30) is None
    assert last_training_day(default_calendar(), "smollm2-135m", "selfhosted", 30) is None


def test_the_training_notice_starts_with_the_notice_period_and_counts_the_last_day_as_open():
    mini, last = "gpt-4o-mini-2024-07-18", date(2026, 12, 15)

    def notice(today: date, horizon_days: int = 60):
        return training_notice(default_calendar(), mini, "openai", today, horizon_days, 30)

    assert notice(last - timedelta(days=60)).days_left == 60 and notice(last - timedelta(days=61)) is None
    assert notice(TODAY, horizon_days=8) is not None and notice(TODAY, horizon_days=7) is None
    on_the_day = notice(last)
    assert (on_the_day.days_left, on_the_day.closed) == (0, False) and "(today is the last day)" in on_the_day.text
    assert on_the_day.text.startswith(f"New fine-tuning jobs for {mini} (openai), which the latest cycle trained,")
    assert "(1 day left)" in notice(last - timedelta(days=1)).text
    after = notice(last + timedelta(days=1))
    assert (after.days_left, after.closed) == (-1, True) and "have been refused since 2026-12-16" in after.text
    assert training_notice(default_calendar(), mini, "azure", TODAY, 60, 30) is None


def test_the_settings_read_the_finetune_controllers_minimum_service_life(monkeypatch):
    for name in ("DISTILLERY_CONSOLE_MODEL_CALENDAR", "DISTILLERY_FINETUNE_CALENDAR",
                 "DISTILLERY_CONSOLE_MIN_SERVICE_LIFE_DAYS", "DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS", "14")
    notice = ShutdownNoticeSettings().watch(on(TODAY)).training("gpt-4o-mini-2024-07-18", "openai")
    assert (notice.last_day, notice.days_left) == (date(2026, 12, 31), 24)
    monkeypatch.setenv("DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS", "23")
    assert ShutdownNoticeSettings().watch(on(TODAY)).training("gpt-4o-mini-2024-07-18", "openai") is None


def test_what_to_do_is_said_once_per_kind_training_first():
    student, teacher = notices([PRODUCTION])
    second_student = notices([table(("production", STUDENT, "openai", 80.0), ("teacher", "gpt-5", "openai", 20.0))])[0]
    training = training_notice(default_calendar(), "gpt-4o-mini-2024-07-18", "openai", TODAY, 60, 30)
    assert advice_lines([student, second_student, teacher], training) == [
        ("Training", training.advice), ("A student", student.advice), ("The teacher", teacher.advice)]
    assert advice_lines([teacher], None) == [("The teacher", teacher.advice)]
    assert advice_lines([], None) == []
    assert "the cycle stops" in training.advice and "set another teacher" in teacher.advice
    assert "open weights" in student.advice and student.advice != teacher.advice


def test_what_the_gauges_show_is_every_known_day_however_far():
    far = ShutdownWatch(default_calendar(), 7, on(TODAY), 30)
    assert far.notices([PRODUCTION]) == [] and far.training("gpt-4o-mini-2024-07-18", "openai") is None
    assert [(n.arm, n.days_left) for n in far.every_known([PRODUCTION])] == [("candidate", 38), ("teacher", 38)]
    known = far.training_known("gpt-4o-mini-2024-07-18", "openai")
    assert (known.last_day, known.days_left) == (date(2026, 12, 15), 8)
    assert far.training_known("smollm2-135m", "selfhosted") is None


# --- what providers publish (Azure's deprecation dates, as a job's events carry them) ------------

AZURE_BASE = "gpt-4o-mini-2024-07-18"
AZURE_STUDENT = f"{AZURE_BASE}.ft-0123abcd"
AZURE = table(("production", AZURE_STUDENT, "azure", 90.0), ("teacher", "gpt-4.1", "openai", 10.0))


def azure_dates(**dates: date) -> tuple[str, str, PublishedDates]:
    return ("azure", AZURE_BASE, PublishedDates(source="Azure model deprecation", **dates))


def test_an_azure_arm_is_warned_of_by_the_dates_azure_publishes():
    watch = ShutdownWatch(default_calendar(), 60, on(TODAY))
    assert [n.arm for n in watch.notices([AZURE])] == ["teacher"]  # the calendar says nothing of Azure
    published = watch.with_published([azure_dates(shutdown=date(2027, 2, 1))])
    assert [(n.arm, n.model, n.shutdown, n.days_left) for n in published.notices([AZURE])] == [
        ("teacher", "gpt-4.1", SHUTDOWN, 38), ("production", AZURE_STUDENT, date(2027, 2, 1), 56)]


def test_a_published_date_wins_over_the_calendars_and_the_calendar_gives_what_is_not_published():
    calendar = {"azure:gpt-4o-mini": CalendarEntry(fine_tune_until=date(2027, 1, 20), shutdown=date(2027, 3, 1))}
    merged = with_published(calendar, [azure_dates(shutdown=date(2027, 2, 1))])
    assert calendar_entry(merged, AZURE_BASE, "azure") == CalendarEntry(
        fine_tune_until=date(2027, 1, 20), shutdown=date(2027, 2, 1))
    merged = with_published(calendar, [azure_dates(fine_tune_until=date(2027, 1, 10))])
    assert calendar_entry(merged, AZURE_BASE, "azure") == CalendarEntry(
        fine_tune_until=date(2027, 1, 10), shutdown=date(2027, 3, 1))
    assert calendar == {"azure:gpt-4o-mini": CalendarEntry(fine_tune_until=date(2027, 1, 20),
                                                          shutdown=date(2027, 3, 1))}  # left as it was


def test_published_dates_apply_to_their_own_provider_only_and_the_later_wins():
    merged = with_published(default_calendar(), [azure_dates(shutdown=date(2027, 2, 1)),
                                                 azure_dates(shutdown=date(2027, 4, 1))])
    assert shutdown_day(merged, AZURE_STUDENT, "azure") == date(2027, 4, 1)
    assert shutdown_day(merged, f"ft:{AZURE_BASE}:clinic::s1", "openai") == SHUTDOWN
    assert last_training_day(merged, AZURE_BASE, "azure", 30) == date(2027, 3, 2)
    training = ShutdownWatch(default_calendar(), 120, on(TODAY), 30).with_published(
        [azure_dates(fine_tune_until=date(2027, 1, 31))]).training(AZURE_BASE, "azure")
    assert (training.last_day, training.days_left) == (date(2027, 1, 31), 55)
