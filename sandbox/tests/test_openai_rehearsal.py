"""A sandbox rehearses OpenAI's deadlines ahead of its own day, so the demo and the tests run on
any day: fine-tuning closes 30 days and gpt-4.1 and gpt-4o-mini stop 38 days after it, as on
2026-12-07; the real dates stay one argument away."""

from __future__ import annotations

from datetime import date, timedelta

from distillery_sandbox.openai import (
    OPENAI_SHUTDOWN,
    SandboxConfig,
    default_catalogue,
    rehearsal_calendar,
    rehearsal_catalogue,
)

LATE = date(2027, 6, 1)  # long after the real deadlines


def test_a_sandbox_of_any_day_rehearses_the_deadlines_ahead_of_it():
    models = {m.id: m for m in SandboxConfig(today=LATE).models}
    for name in ("gpt-4.1", "gpt-4.1-2025-04-14", "gpt-4o-mini", "gpt-4o-mini-2024-07-18"):
        assert (models[name].fine_tune_until, models[name].shutdown_date) == (
            LATE + timedelta(days=30), LATE + timedelta(days=38)), name
        assert models[name].fine_tuning_open(LATE) and not models[name].shut_down(LATE)
    assert (models["gpt-3.5-turbo"].fine_tune_until, models["gpt-3.5-turbo"].shutdown_date) == (None, None)


def test_the_rehearsal_is_the_real_catalogue_on_2026_12_07_and_the_real_one_can_be_asked_for():
    assert rehearsal_catalogue(date(2026, 12, 7)) == default_catalogue()
    real = SandboxConfig(today=LATE, models=default_catalogue())
    assert all(m.shut_down(LATE) for m in real.models if m.shutdown_date == OPENAI_SHUTDOWN)


def test_the_calendar_for_the_services_holds_the_sandboxs_days():
    calendar = rehearsal_calendar(LATE)
    assert calendar["openai:*"] == {"fine_tune_until": "2027-07-01", "shutdown": None}
    for name in ("gpt-4.1", "gpt-4o-mini-2024-07-18"):
        assert calendar[f"openai:{name}"] == {"fine_tune_until": "2027-07-01", "shutdown": "2027-07-09"}
    assert "openai:gpt-3.5-turbo" not in calendar
