"""The lifecycle guard refuses models that are gone, going, or closed to fine-tuning."""

from __future__ import annotations

from datetime import date

import pytest

from distillery_finetune_controller.config import FinetuneSettings
from distillery_finetune_controller.domain.lifecycle import (
    CalendarEntry,
    LifecyclePolicy,
    ModelLifecycle,
    calendar_entry,
    check_lifecycle,
    default_calendar,
)

MINI = "gpt-4o-mini-2024-07-18"


def policy(**overrides) -> LifecyclePolicy:
    values = {"min_service_life_days": 30, "calendar": default_calendar(), "fallback_model": "gpt-4.1-mini"}
    return LifecyclePolicy(**{**values, **overrides})


def published(**dates) -> ModelLifecycle:
    return ModelLifecycle(model=MINI, source="provider's shutdown_date", **dates)


def test_a_model_far_from_its_dates_passes():
    assert check_lifecycle(published(shutdown_date=date(2027, 1, 14)), MINI, policy(), date(2026, 11, 2)) is None


def test_a_model_past_its_shutdown_is_refused_naming_the_date_and_the_fallback():
    refusal = check_lifecycle(published(shutdown_date=date(2026, 10, 1)), MINI, policy(), date(2026, 11, 2))

    assert refusal.code == "model_retired"
    assert refusal.day == date(2026, 10, 1)
    assert "shut down on 2026-10-01 (provider's shutdown_date)" in refusal.message
    assert "fallback base model is gpt-4.1-mini" in refusal.message


def test_a_shutdown_inside_the_minimum_service_life_is_refused():
    refusal = check_lifecycle(published(shutdown_date=date(2027, 1, 14)), MINI, policy(min_service_life_days=90),
                              date(2026, 11, 2))

    assert refusal.code == "shutdown_too_soon"
    assert "73 days from 2026-11-02" in refusal.message and "minimum service life of 90 days" in refusal.message


def test_the_default_calendar_closes_fine_tuning_after_2027_01_06_when_the_provider_is_silent():
    silent = published()
    assert check_lifecycle(silent, MINI, policy(min_service_life_days=0), date(2027, 1, 6)) is None

    refusal = check_lifecycle(silent, MINI, policy(min_service_life_days=0), date(2027, 1, 7))
    assert refusal.code == "fine_tuning_closed"
    assert "ended after 2027-01-06 (configured calendar)" in refusal.message


def test_the_calendar_supplies_the_shutdown_a_provider_does_not_publish():
    refusal = check_lifecycle(published(), MINI, policy(), date(2026, 12, 20))

    assert refusal.code == "shutdown_too_soon"
    assert "2027-01-14 (configured calendar)" in refusal.message


def test_a_published_date_wins_over_the_calendar():
    extended = published(shutdown_date=date(2027, 12, 31), fine_tune_until=date(2027, 6, 30))
    assert check_lifecycle(extended, MINI, policy(), date(2027, 2, 1)) is None


def test_calendar_entries_cover_dated_snapshots_but_not_other_models():
    calendar = {"gpt-4.1": CalendarEntry(shutdown=date(2027, 1, 14))}
    assert calendar_entry(calendar, "gpt-4.1-2025-04-14") is calendar["gpt-4.1"]
    assert calendar_entry(calendar, "gpt-4.1-mini-2025-04-14") is None


def test_azure_preview_and_deprecated_models_are_refused_unless_previews_are_allowed():
    preview = ModelLifecycle(model=MINI, source="Azure model deprecation", lifecycle_status="preview")
    deprecated = ModelLifecycle(model=MINI, source="Azure model deprecation", lifecycle_status="deprecated")

    assert check_lifecycle(preview, MINI, policy(), date(2026, 11, 2)).code == "preview_model"
    assert check_lifecycle(preview, MINI, policy(allow_preview=True), date(2026, 11, 2)) is None
    assert check_lifecycle(deprecated, MINI, policy(), date(2026, 11, 2)).code == "model_retired"


def test_models_the_provider_does_not_offer_or_cannot_fine_tune_are_refused():
    no_tuning = ModelLifecycle(model=MINI, source="Azure model deprecation", fine_tunable=False)

    assert check_lifecycle(None, MINI, policy(), date(2026, 11, 2)).code == "model_unknown"
    assert check_lifecycle(no_tuning, MINI, policy(), date(2026, 11, 2)).code == "not_fine_tunable"


def test_without_a_fallback_the_refusal_says_how_to_configure_one():
    refusal = check_lifecycle(None, MINI, policy(fallback_model=None), date(2026, 11, 2))
    assert "DISTILLERY_FINETUNE_FALLBACK_MODEL" in refusal.message


def test_the_calendar_can_be_configured_as_json(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DISTILLERY_FINETUNE_CALENDAR", '{"gpt-4o-mini": {"shutdown": "2026-12-01"}}')
    settings = FinetuneSettings(openai_api_key="sk")

    assert settings.calendar == {"gpt-4o-mini": CalendarEntry(shutdown=date(2026, 12, 1))}
