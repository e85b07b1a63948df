"""When hosted models stop: the calendar the lifecycle guard trains by and the console warns by.

Providers publish some dates (OpenAI's ``shutdown_date``, Azure's ``deprecation``) and not
others; the calendar holds the rest, by model name, optionally scoped to a provider
(``openai:gpt-4.1``; ``*`` is any hosted model, ``openai:*`` any of one provider's). The
finetune-controller refuses to train a base model that is going away; the console and
``distillery status`` say which models the routing tables still send calls to are going
away, so an operator replaces them (a student on open weights, another teacher) before the
day their calls start failing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from distillery_contracts.finetune import PublishedDates
from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.clock import utc_now
from distillery_runtime.pricing import fine_tuned_base

ANY_MODEL = "*"
SELFHOSTED = "selfhosted"
"""The provider name of students served on the user's own hosts (open weights)."""
TEACHER_ARM = "teacher"

OPENAI_FINE_TUNING_ENDS = date(2027, 1, 6)
OPENAI_SHUTDOWN = date(2027, 1, 14)
DEFAULT_MIN_SERVICE_LIFE_DAYS = 30
"""The lifecycle guard refuses a base model that shuts down sooner than this after training."""


class CalendarEntry(BaseModel):
    """Dates a provider does not publish for one model (or for every model, key '*' or 'openai:*')."""

    fine_tune_until: date | None = Field(
        default=None, description="Last day a new fine-tuning job is accepted."
    )
    shutdown: date | None = Field(
        default=None, description="Day the model and the fine-tunes built on it stop serving."
    )


def default_calendar() -> dict[str, CalendarEntry]:
    """DESIGN.md's dates, which are OpenAI's: self-serve fine-tuning stops after 2027-01-06;
    gpt-4o-mini, gpt-4.1 and their fine-tunes shut down on 2027-01-14. Azure publishes its own
    (its models' ``deprecation``), so these are scoped to ``openai``."""
    retiring = CalendarEntry(fine_tune_until=OPENAI_FINE_TUNING_ENDS, shutdown=OPENAI_SHUTDOWN)
    return {
        "openai:*": CalendarEntry(fine_tune_until=OPENAI_FINE_TUNING_ENDS),
        "openai:gpt-4o-mini": retiring,
        "openai:gpt-4.1": retiring,
    }


def calendar_entry(calendar: Mapping[str, CalendarEntry], model: str,
                   provider: str | None = None) -> CalendarEntry | None:
    """The entry for ``model`` on ``provider``, the most specific first: '<provider>:<model>',
    then '<model>' (any provider), then '<provider>:*', then '*' (any hosted provider: never
    open weights on the user's own hosts). A model key covers its dated snapshots: 'gpt-4.1'
    covers 'gpt-4.1-2025-04-14' but not 'gpt-4.1-mini', a different model."""
    found: dict[int, CalendarEntry] = {}
    for key, entry in calendar.items():
        scope, _, name = key.rpartition(":")
        if scope and scope != provider:
            continue
        if name == ANY_MODEL:
            rank = 2 if scope else 3
            if rank == 3 and provider == SELFHOSTED:
                continue
        elif re.fullmatch(re.escape(name) + r"(-\d{4}-\d{2}-\d{2})?", model):
            rank = 0 if scope else 1
        else:
            continue
        found.setdefault(rank, entry)
    return found[min(found)] if found else None


Published = tuple[str, str, PublishedDates]
"""What a provider publishes for a base model: (provider, base model, dates), as a job's events
carry them from the lifecycle guard."""


def with_published(calendar: Mapping[str, CalendarEntry],
                   published: Iterable[Published]) -> dict[str, CalendarEntry]:
    """``calendar`` with what providers publish for their base models put first and weighed as the
    lifecycle guard weighs it: a published date wins, the calendar gives a date the provider
    leaves out. Of two items for one provider and model, the later wins."""
    merged: dict[str, CalendarEntry] = {}
    for provider, model, dates in published:
        configured = calendar_entry(calendar, model, provider) or CalendarEntry()
        merged[f"{provider}:{model}"] = CalendarEntry(
            fine_tune_until=dates.fine_tune_until or configured.fine_tune_until,
            shutdown=dates.shutdown or configured.shutdown)
    # calendar_entry takes the first of two equally specific keys: the published ones come first.
    return {**merged, **{key: entry for key, entry in calendar.items() if key not in merged}}


def shutdown_day(calendar: Mapping[str, CalendarEntry], model: str, provider: str) -> date | None:
    """The day ``model`` stops answering on ``provider`` by the calendar; None when it says none.

    A fine-tune stops with its base model. On the self-hosted provider the hosted providers'
    '*' does not apply: the weights are the user's, and nothing shuts them down.
    """
    entry = calendar_entry(calendar, fine_tuned_base(model) or model, provider)
    return entry.shutdown if entry is not None else None


def last_training_day(calendar: Mapping[str, CalendarEntry], model: str, provider: str,
                      min_service_life_days: int) -> date | None:
    """The last day the lifecycle guard accepts a new job for ``model`` on ``provider`` by the
    calendar: its fine-tuning window's last day, or the day its shutdown is the minimum service
    life away, whichever is first; None when the calendar gives neither."""
    entry = calendar_entry(calendar, model, provider)
    if entry is None:
        return None
    days = [entry.fine_tune_until] if entry.fine_tune_until else []
    if entry.shutdown:
        days.append(entry.shutdown - timedelta(days=min_service_life_days))
    return min(days, default=None)


@dataclass(frozen=True)
class TrainingNotice:
    """The base model the latest cycle trained, when the guard will soon refuse it."""

    base_model: str
    provider: str
    last_day: date
    days_left: int
    """Days from today to the last day a job is accepted; below 0: jobs are refused."""

    @property
    def closed(self) -> bool:
        return self.days_left < 0

    @property
    def when(self) -> str:
        if self.closed:
            return f"have been refused since {self.last_day + timedelta(days=1)}"
        left = "today is the last day" if self.days_left == 0 else (
            f"{self.days_left} day{'s' if self.days_left != 1 else ''} left")
        return f"are accepted until {self.last_day} ({left})"

    advice = ("after its last day the lifecycle guard refuses the job and the cycle stops: set "
              "DISTILLERY_FINETUNE_FALLBACK_PROVIDER=selfhosted, DISTILLERY_FINETUNE_FALLBACK_MODEL and "
              "DISTILLERY_FINETUNE_AUTO_FALLBACK=true (or DISTILLERY_FINETUNE_PROVIDER=selfhosted) so that the "
              "next students train on open weights")
    """What a refusal does, and what to set before it."""

    @property
    def text(self) -> str:
        return (f"New fine-tuning jobs for {self.base_model} ({self.provider}), which the latest cycle trained, "
                f"{self.when}; {self.advice}.")


@dataclass(frozen=True)
class ServingNotice:
    """One arm of a routing table that still gets calls and whose model is going away."""

    route: str
    arm: str
    model: str
    provider: str
    weight: float
    shutdown: date
    days_left: int
    """Days from today to the shutdown; 0 or less: it has stopped."""

    @property
    def stopped(self) -> bool:
        return self.days_left <= 0

    @property
    def when(self) -> str:
        if self.stopped:
            return f"shut down on {self.shutdown}"
        return f"shuts down on {self.shutdown}, in {self.days_left} day{'s' if self.days_left != 1 else ''}"

    @property
    def is_teacher(self) -> bool:
        return self.arm == TEACHER_ARM

    @property
    def advice(self) -> str:
        """What happens to the arm's calls then, and what to do before."""
        if self.is_teacher:
            return ("its calls fail from then on, and so does every student call that falls back to the "
                    "teacher: set another teacher (DISTILLERY_ROLLOUT_TEACHER_MODEL and "
                    "DISTILLERY_EVALUATOR_TEACHER_MODEL)")
        return ("its calls fall back to the teacher from then on, at the teacher's price: train its "
                "replacement on open weights (DISTILLERY_FINETUNE_PROVIDER=selfhosted, or "
                "DISTILLERY_FINETUNE_AUTO_FALLBACK) and roll it out first")

    @property
    def text(self) -> str:
        """One line an operator acts on: what, when, what happens then, what to do."""
        what = f"{self.model} ({self.provider}), the {self.arm} arm of route {self.route} at {self.weight:g}%,"
        return f"{what} {self.when}; {self.advice}."


def serving_notices(tables: Iterable[RouteTableUpdated], calendar: Mapping[str, CalendarEntry],
                    today: date, horizon_days: int | None) -> list[ServingNotice]:
    """The arms that get calls (weight above 0) whose model stops within ``horizon_days`` of
    ``today`` (None: on any known day) or has stopped, soonest first."""
    notices = []
    for table in tables:
        for arm in table.arms:
            if arm.weight <= 0:
                continue
            day = shutdown_day(calendar, arm.model, arm.provider)
            if day is None:
                continue
            days_left = (day - today).days
            if horizon_days is None or days_left <= horizon_days:
                notices.append(ServingNotice(table.route, arm.name, arm.model, arm.provider, arm.weight, day,
                                             days_left))
    return sorted(notices, key=lambda n: (n.shutdown, n.route, n.arm))


def advice_lines(notices: Iterable[ServingNotice], training: TrainingNotice | None) -> list[tuple[str, str]]:
    """What to do, once per kind of notice (training, a student, the teacher), for a page or a
    table that lists the notices themselves briefly."""
    lines: dict[str, str] = {}
    if training is not None:
        lines["Training"] = training.advice
    for n in notices:
        lines.setdefault("The teacher" if n.is_teacher else "A student", n.advice)
    return list(lines.items())


def training_notice(calendar: Mapping[str, CalendarEntry], base_model: str, provider: str, today: date,
                    horizon_days: int | None, min_service_life_days: int) -> TrainingNotice | None:
    """A notice when jobs for ``base_model`` on ``provider`` are refused within ``horizon_days``
    of ``today`` (None: on any known day), or already are."""
    last = last_training_day(calendar, base_model, provider, min_service_life_days)
    if last is None or (horizon_days is not None and (last - today).days > horizon_days):
        return None
    return TrainingNotice(base_model, provider, last, (last - today).days)


class ShutdownNoticeSettings(BaseSettings):
    """What the console and ``distillery status`` warn by: one calendar with the finetune-controller."""

    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True)

    model_calendar: dict[str, CalendarEntry] = Field(
        default_factory=default_calendar,
        validation_alias=AliasChoices("DISTILLERY_CONSOLE_MODEL_CALENDAR", "DISTILLERY_FINETUNE_CALENDAR"),
        description="The dates hosted models shut down, by model or provider:model ('*': any hosted model, "
        "'openai:*': any of one provider's), as JSON; unset: the "
        "finetune-controller's DISTILLERY_FINETUNE_CALENDAR (or its default). The overview warns of a routed "
        "model going away.")
    min_service_life_days: int = Field(
        default=DEFAULT_MIN_SERVICE_LIFE_DAYS, ge=0,
        validation_alias=AliasChoices("DISTILLERY_CONSOLE_MIN_SERVICE_LIFE_DAYS",
                                      "DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS"),
        description="The finetune-controller's minimum service life, which it is read from when this is unset: "
        "the overview says when its lifecycle guard starts refusing the base model the latest cycle trained.")
    shutdown_notice_days: int = Field(
        default=60, ge=0, validation_alias=AliasChoices("DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS"),
        description="How many days before a routed model's shutdown the overview and distillery status "
        "start to warn of it.")

    def watch(self, clock: Callable[[], datetime] = utc_now) -> ShutdownWatch:
        """These settings, read on the day ``clock`` gives."""
        return ShutdownWatch(self.model_calendar, self.shutdown_notice_days, clock, self.min_service_life_days)


@dataclass(frozen=True)
class ShutdownWatch:
    """The routed models that stop within ``horizon_days`` of the clock's day, or have stopped;
    and when the lifecycle guard starts refusing a trained base model, within them or already."""

    calendar: Mapping[str, CalendarEntry] = field(default_factory=default_calendar)
    horizon_days: int = 60
    clock: Callable[[], datetime] = utc_now
    min_service_life_days: int = DEFAULT_MIN_SERVICE_LIFE_DAYS

    def notices(self, tables: Iterable[RouteTableUpdated]) -> list[ServingNotice]:
        return serving_notices(tables, self.calendar, self.clock().date(), self.horizon_days)

    def every_known(self, tables: Iterable[RouteTableUpdated]) -> list[ServingNotice]:
        """Every routed model with a known shutdown day, however far: what a gauge shows, so
        that an alert rule picks its own threshold."""
        return serving_notices(tables, self.calendar, self.clock().date(), None)

    def with_published(self, published: Iterable[Published]) -> ShutdownWatch:
        """This watch, with what providers publish for their base models (see :func:`with_published`)."""
        return replace(self, calendar=with_published(self.calendar, published))

    def training(self, base_model: str, provider: str) -> TrainingNotice | None:
        """The trained base model's notice, within the notice period."""
        return training_notice(self.calendar, base_model, provider, self.clock().date(), self.horizon_days,
                               self.min_service_life_days)

    def training_known(self, base_model: str, provider: str) -> TrainingNotice | None:
        """The trained base model's last training day however far: what a gauge shows."""
        return training_notice(self.calendar, base_model, provider, self.clock().date(), None,
                               self.min_service_life_days)
