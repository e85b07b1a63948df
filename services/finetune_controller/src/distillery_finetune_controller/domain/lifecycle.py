"""The lifecycle guard: never spend money fine-tuning a model that is about to go away.

A base model is refused when its fine-tuning window has closed, when it has been shut
down, or when its shutdown falls inside the minimum service life a new student must
have. Dates come from the provider when it publishes them (OpenAI's ``shutdown_date``,
Azure's ``deprecation``) and from a configurable calendar when it does not
(:mod:`distillery_runtime.model_calendar`, which the console warns by as well).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from distillery_contracts.finetune import PublishedDates
from distillery_runtime.model_calendar import CalendarEntry, calendar_entry


@dataclass(frozen=True)
class ModelLifecycle:
    """What a provider says about a base model's life; None where it says nothing."""

    model: str
    source: str
    shutdown_date: date | None = None
    fine_tune_until: date | None = None
    lifecycle_status: str | None = None
    fine_tunable: bool | None = None

    def published(self) -> PublishedDates | None:
        """The dates as the job's events carry them to the console; None when there are none."""
        if self.shutdown_date is None and self.fine_tune_until is None:
            return None
        return PublishedDates(source=self.source, fine_tune_until=self.fine_tune_until, shutdown=self.shutdown_date)


@dataclass(frozen=True)
class LifecyclePolicy:
    """How strict the guard is, and which model (on which provider) to suggest instead.

    ``auto_fallback`` says a refused job continues on the fallback by itself;
    ``guards_fallback`` says this policy guards jobs already on the fallback provider,
    which have nothing further to fall back to.
    """

    min_service_life_days: int
    calendar: Mapping[str, CalendarEntry]
    fallback_model: str | None = None
    provider: str | None = None
    """The provider the guarded jobs run on: which of the calendar's scoped entries apply."""
    allow_preview: bool = False
    fallback_provider: str | None = None
    auto_fallback: bool = False
    guards_fallback: bool = False


@dataclass(frozen=True)
class Refusal:
    """Why a base model is refused; ``code`` goes into the event's JobError, ``reason`` is the
    message without the advice (what a fallback records as its cause)."""

    code: str
    message: str
    day: date | None = None
    reason: str | None = None


def check_lifecycle(info: ModelLifecycle | None, model: str, policy: LifecyclePolicy,
                    today: date, offered_by: str = "the provider") -> Refusal | None:
    """A refusal when ``model`` must not be fine-tuned today, else None; ``offered_by`` names
    the provider in the refusal of a model it does not offer."""
    if info is None:
        return _refuse("model_unknown", f"base model {model} is not offered by {offered_by}", None, policy)
    problem = _availability_problem(info, policy)
    if problem is not None:
        return _refuse(problem[0], problem[1], None, policy)
    entry = calendar_entry(policy.calendar, model, policy.provider) or CalendarEntry()
    until, until_source = _pick(info.fine_tune_until, info.source, entry.fine_tune_until)
    if until is not None and today > until:
        return _refuse("fine_tuning_closed",
                       f"new fine-tuning jobs for {model} ended after {until} ({until_source})", until, policy)
    shutdown, shutdown_source = _pick(info.shutdown_date, info.source, entry.shutdown)
    if shutdown is None:
        return None
    if shutdown <= today:
        return _refuse("model_retired", f"{model} shut down on {shutdown} ({shutdown_source})", shutdown, policy)
    days_left = (shutdown - today).days
    if days_left < policy.min_service_life_days:
        return _refuse(
            "shutdown_too_soon",
            f"{model} shuts down on {shutdown} ({shutdown_source}), {days_left} days from {today}, "
            f"inside the minimum service life of {policy.min_service_life_days} days",
            shutdown, policy,
        )
    return None


def _availability_problem(info: ModelLifecycle, policy: LifecyclePolicy) -> tuple[str, str] | None:
    status = (info.lifecycle_status or "").lower()
    if info.fine_tunable is False:
        return "not_fine_tunable", f"{info.model} cannot be fine-tuned ({info.source})"
    if status in ("deprecated", "retired"):
        return "model_retired", f"{info.model} is {status} ({info.source})"
    if status == "preview" and not policy.allow_preview:
        return ("preview_model", f"{info.model} is a preview model ({info.source}) and preview base models "
                "are not allowed (DISTILLERY_FINETUNE_ALLOW_PREVIEW_MODELS)")
    return None


def _pick(published: date | None, source: str, configured: date | None) -> tuple[date | None, str]:
    if published is not None:
        return published, source
    return configured, "configured calendar"


def _refuse(code: str, reason: str, day: date | None, policy: LifecyclePolicy) -> Refusal:
    return Refusal(code=code, message=f"refused before any upload: {reason}; {_advice(policy)}", day=day,
                   reason=reason)


def _advice(policy: LifecyclePolicy) -> str:
    if policy.guards_fallback:
        return ("the job already runs on the fallback (DISTILLERY_FINETUNE_FALLBACK_PROVIDER, "
                "DISTILLERY_FINETUNE_FALLBACK_MODEL): there is nothing further to fall back to")
    if policy.fallback_model and policy.fallback_provider:
        fallback = (f"the configured fallback is base model {policy.fallback_model} "
                    f"on the {policy.fallback_provider} provider")
        if policy.auto_fallback:
            return f"{fallback}, where the job continues (DISTILLERY_FINETUNE_AUTO_FALLBACK)"
        return f"{fallback}; set DISTILLERY_FINETUNE_AUTO_FALLBACK=true to continue there automatically"
    if policy.fallback_model:
        return f"the configured fallback base model is {policy.fallback_model}; build the next dataset for it"
    return "no fallback base model is configured (DISTILLERY_FINETUNE_FALLBACK_MODEL)"


def check_budget(estimated_cost_usd: float | None, cap_usd: float | None) -> Refusal | None:
    """A refusal when the dataset's estimated training cost is over the configured cap."""
    if cap_usd is None or estimated_cost_usd is None or estimated_cost_usd <= cap_usd:
        return None
    return Refusal(code="over_budget", message=(
        f"refused before any upload: the estimated training cost ${estimated_cost_usd:,.2f} is over the "
        f"cap of ${cap_usd:,.2f} per job (DISTILLERY_FINETUNE_MAX_TRAINING_COST_USD)"))
