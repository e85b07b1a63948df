"""The lifecycle guard refuses models that are gone, going, or closed to fine-tuning."""

from __future__ import annotations

from datetime import date

import pytest

from distillery_finetune_controller.config import FinetuneSettings
from distillery_finetune_controller.domain.lifecycle import LifecyclePolicy, ModelLifecycle, check_lifecycle
from distillery_runtime.model_calendar import CalendarEntry, calendar_entry, default_calendar

MINI = "gpt-4o-mini-2024-07-18"


def policy(**overrides) -> LifecyclePolicy:
    values = {"min_service_life_days": 30, "calendar": default_calendar(), "fallback_model": "gpt-4.1-mini",
              "provider": "openai"}
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


def test_without_a_fallback_provider_the_refusals_read_as_they_always_did():
    retired = published(shutdown_date=date(2026, 10, 1))
    assert check_lifecycle(retired, MINI, policy(), date(2026, 11, 2)).message == (
        f"refused before any upload: {MINI} shut down on 2026-10-01 (provider's shutdown_date); "
        "the configured fallback base model is gpt-4.1-mini; build the next dataset for it")
    assert check_lifecycle(None, MINI, policy(fallback_model=None), date(2026, 11, 2)).message == (
        f"refused before any upload: base model {MINI} is not offered by the provider; "
        "no fallback base model is configured (DISTILLERY_FINETUNE_FALLBACK_MODEL)")


def test_a_refusal_names_the_self_hosted_fallback_and_the_setting_that_makes_it_automatic():
    retired = published(shutdown_date=date(2026, 10, 1))
    manual = check_lifecycle(retired, MINI, policy(fallback_model="qwen2.5-1.5b", fallback_provider="selfhosted"),
                             date(2026, 11, 2))
    automatic = check_lifecycle(retired, MINI, policy(fallback_model="qwen2.5-1.5b", fallback_provider="selfhosted",
                                                      auto_fallback=True), date(2026, 11, 2))

    assert manual.message.endswith(
        "; the configured fallback is base model qwen2.5-1.5b on the selfhosted provider; "
        "set DISTILLERY_FINETUNE_AUTO_FALLBACK=true to continue there automatically")
    assert automatic.message.endswith("; the configured fallback is base model qwen2.5-1.5b on the selfhosted "
                                      "provider, where the job continues (DISTILLERY_FINETUNE_AUTO_FALLBACK)")
    assert manual.reason == automatic.reason == f"{MINI} shut down on 2026-10-01 (provider's shutdown_date)"


def test_a_base_model_the_trainer_lacks_is_named_with_the_trainer_that_lacks_it():
    trainer = "the self-hosted trainer at http://trainer:8090/v1 (its GET /v1/models lists the base models it can train)"
    refusal = check_lifecycle(None, "/srv/models/qwen", policy(), date(2026, 11, 2), offered_by=trainer)

    assert refusal.code == "model_unknown"
    assert refusal.message.startswith(f"refused before any upload: base model /srv/models/qwen is not offered by "
                                      f"{trainer}; ")


def test_the_self_hosted_trainer_ignores_the_hosted_window_but_keeps_dates_set_for_a_model():
    settings = FinetuneSettings(provider="selfhosted", calendar={
        "*": {"fine_tune_until": "2027-01-06"}, "old-llama": {"shutdown": "2027-02-01"}})
    open_weights = ModelLifecycle(model="qwen2.5-1.5b", source="self-hosted trainer")
    after_the_window = date(2027, 3, 1)

    assert check_lifecycle(open_weights, "qwen2.5-1.5b", settings.lifecycle_policy(), after_the_window) is None
    assert check_lifecycle(open_weights, "old-llama", settings.lifecycle_policy(), after_the_window).code == (
        "model_retired")
    hosted = FinetuneSettings(calendar=settings.calendar)
    assert check_lifecycle(open_weights, "qwen2.5-1.5b", hosted.lifecycle_policy(), after_the_window).code == (
        "fine_tuning_closed")
