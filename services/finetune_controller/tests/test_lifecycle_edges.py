"""The lifecycle guard and the budget cap at their edges, and what their refusals tell a person:
the day a model stops counts as stopped, a shutdown exactly a minimum service life away is
allowed, and each refusal names the date, where the date came from and the setting to change."""

from __future__ import annotations

from datetime import date, timedelta

from distillery_finetune_controller.domain.lifecycle import (
    LifecyclePolicy,
    ModelLifecycle,
    check_budget,
    check_lifecycle,
)
from distillery_runtime.model_calendar import CalendarEntry, default_calendar, last_training_day

MINI = "gpt-4o-mini-2024-07-18"
TODAY = date(2026, 11, 2)


def policy(**overrides) -> LifecyclePolicy:
    values = {"min_service_life_days": 30, "calendar": {}, "fallback_model": None, "provider": "openai"}
    return LifecyclePolicy(**{**values, **overrides})


def info(**fields) -> ModelLifecycle:
    return ModelLifecycle(**{"model": MINI, "source": "provider's shutdown_date", **fields})


def test_a_model_shutting_down_today_is_retired_and_the_refusal_carries_the_day():
    refusal = check_lifecycle(info(shutdown_date=TODAY), MINI, policy(min_service_life_days=0), TODAY)
    assert (refusal.code, refusal.day) == ("model_retired", TODAY)
    assert check_lifecycle(info(shutdown_date=TODAY + timedelta(days=1)), MINI,
                           policy(min_service_life_days=0), TODAY) is None


def test_a_shutdown_exactly_the_minimum_service_life_away_is_allowed_and_a_day_less_is_not():
    assert check_lifecycle(info(shutdown_date=TODAY + timedelta(days=30)), MINI, policy(), TODAY) is None
    refusal = check_lifecycle(info(shutdown_date=TODAY + timedelta(days=29)), MINI, policy(), TODAY)
    assert (refusal.code, refusal.day) == ("shutdown_too_soon", TODAY + timedelta(days=29))


def test_a_closed_window_records_its_last_day_and_its_source():
    refusal = check_lifecycle(info(fine_tune_until=date(2026, 11, 1)), MINI, policy(), TODAY)
    assert (refusal.code, refusal.day) == ("fine_tuning_closed", date(2026, 11, 1))
    assert refusal.reason == (f"new fine-tuning jobs for {MINI} ended after 2026-11-01 (provider's shutdown_date)")


def test_every_refusal_reason_is_the_message_without_the_advice():
    refusal = check_lifecycle(info(lifecycle_status="Retired", source="Azure deprecation"), MINI, policy(), TODAY)
    assert refusal.code == "model_retired"
    assert refusal.reason == f"{MINI} is retired (Azure deprecation)"
    assert refusal.message == (f"refused before any upload: {MINI} is retired (Azure deprecation); "
                               "no fallback base model is configured (DISTILLERY_FINETUNE_FALLBACK_MODEL)")


def test_a_preview_refusal_names_the_setting_that_allows_previews():
    refusal = check_lifecycle(info(lifecycle_status="preview", source="Azure"), MINI, policy(), TODAY)
    assert refusal.reason == (f"{MINI} is a preview model (Azure) and preview base models are not allowed "
                              "(DISTILLERY_FINETUNE_ALLOW_PREVIEW_MODELS)")
    assert check_lifecycle(info(lifecycle_status=None), MINI, policy(), TODAY) is None


def test_a_job_already_on_the_fallback_is_told_there_is_nothing_further():
    refusal = check_lifecycle(None, MINI, policy(guards_fallback=True), TODAY, offered_by="the trainer")
    assert refusal.message == (
        f"refused before any upload: base model {MINI} is not offered by the trainer; the job already runs on the "
        "fallback (DISTILLERY_FINETUNE_FALLBACK_PROVIDER, DISTILLERY_FINETUNE_FALLBACK_MODEL): there is nothing "
        "further to fall back to")


def test_the_default_calendar_closes_every_models_window_and_retires_gpt_4_1():
    calendar = default_calendar()
    silent = ModelLifecycle(model="gpt-4.1", source="provider")
    after = date(2027, 1, 7)
    assert check_lifecycle(silent, "o4-mini", policy(calendar=calendar), after).code == "fine_tuning_closed"
    refusal = check_lifecycle(silent, "gpt-4.1", policy(calendar=calendar, min_service_life_days=0),
                              date(2027, 1, 5))
    assert refusal is None
    retired = check_lifecycle(silent, "gpt-4.1", policy(calendar={"gpt-4.1": calendar["openai:gpt-4.1"]},
                                                        min_service_life_days=30), date(2026, 12, 20))
    assert (retired.code, retired.day) == ("shutdown_too_soon", date(2027, 1, 14))
    assert "(configured calendar)" in retired.reason


def test_the_default_calendar_is_openais_and_leaves_azure_to_its_own_dates():
    silent = ModelLifecycle(model="gpt-4o-mini-2024-07-18", source="Azure model deprecation")
    azure = policy(calendar=default_calendar(), provider="azure", min_service_life_days=0)
    assert check_lifecycle(silent, "gpt-4o-mini-2024-07-18", azure, date(2027, 2, 1)) is None
    openai = policy(calendar=default_calendar(), min_service_life_days=0)
    assert check_lifecycle(silent, "gpt-4o-mini-2024-07-18", openai, date(2027, 2, 1)).code == "fine_tuning_closed"


def test_a_calendar_entry_for_every_model_applies_to_unlisted_ones():
    calendar = {"*": CalendarEntry(shutdown=TODAY)}
    assert check_lifecycle(info(), "some-model", policy(calendar=calendar), TODAY).code == "model_retired"


def test_the_budget_cap_is_inclusive_and_needs_both_figures():
    assert check_budget(100.0, 100.0) is None
    assert check_budget(None, 100.0) is None and check_budget(500.0, None) is None
    refusal = check_budget(1_234.5, 1_000.0)
    assert refusal.code == "over_budget"
    assert refusal.message == ("refused before any upload: the estimated training cost $1,234.50 is over the cap "
                               "of $1,000.00 per job (DISTILLERY_FINETUNE_MAX_TRAINING_COST_USD)")


def test_the_guard_refuses_exactly_after_the_last_training_day_the_console_announces():
    """The console's notice (model_calendar.last_training_day) and the guard read one calendar
    the same way: a job on the announced last day is accepted, the day after it is refused."""
    silent = ModelLifecycle(model=MINI, source="provider")
    for life in (0, 8, 9, 30):
        last = last_training_day(default_calendar(), MINI, "openai", life)
        guard = policy(calendar=default_calendar(), min_service_life_days=life)
        assert check_lifecycle(silent, MINI, guard, last) is None, life
        assert check_lifecycle(silent, MINI, guard, last + timedelta(days=1)) is not None, life


def test_what_the_provider_published_goes_out_with_the_job_when_it_published_either_date():
    from distillery_contracts.finetune import PublishedDates

    day, until = date(2027, 6, 1), date(2027, 3, 1)
    source = "provider's shutdown_date"
    assert info().published() is None
    assert info(lifecycle_status="generally-available").published() is None  # no date: nothing to warn by
    assert info(shutdown_date=day).published() == PublishedDates(source=source, shutdown=day)
    assert info(fine_tune_until=until).published() == PublishedDates(source=source, fine_tune_until=until)
    assert info(shutdown_date=day, fine_tune_until=until).published() == PublishedDates(
        source=source, fine_tune_until=until, shutdown=day)
