"""The models each simulated provider account knows, with their lifecycle dates.

OpenAI publishes a `shutdown_date` per model; Azure publishes `deprecation.fine_tune` (the
last day new fine-tuning jobs are accepted) and `deprecation.inference`. Both come from the
same `ModelInfo` here, so a test or the demo can move a date and see a controller refuse
the model.

`default_catalogue()` has DESIGN.md's real dates, which pass: from 2027-01-14 its teacher
answers nothing. A sandbox therefore rehearses them by default (`rehearsal_catalogue`): the
same announcement, always as far ahead of the sandbox's day as it was on 2026-12-07, so the
demo and the tests run on any day and still see the models' retirement coming.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

Behaviour = Literal["teacher", "untuned"]

OPENAI_SHUTDOWN = date(2027, 1, 14)
"""gpt-4o-mini, gpt-4.1 and the fine-tunes built on them shut down on this day."""

OPENAI_FINE_TUNING_ENDS = date(2027, 1, 6)
"""New self-serve fine-tuning jobs are refused after this day."""

REHEARSAL_FINE_TUNING_DAYS = 30
REHEARSAL_SHUTDOWN_DAYS = 38
"""How far after the sandbox's day a rehearsal puts the two deadlines: as far as they were on
2026-12-07. 38 days is more than the finetune-controller's default minimum service life (30),
so a rehearsed gpt-4o-mini is still fine-tuned, and within the console's notice period (60)."""


@dataclass(frozen=True)
class ModelInfo:
    """One base model of the catalogue.

    `snapshot` is the dated name fine-tuned model ids are built from; `behaviour` says how
    the sandbox answers with it ("teacher": the workload's teacher, "untuned": a capable
    but untrained model); `fine_tune_until` is the last day a job may be created for it
    (None: not fine-tunable); `shutdown_date` the day it stops serving (None: not announced).
    """

    id: str
    created: int
    snapshot: str
    behaviour: Behaviour
    owned_by: str = "system"
    fine_tune_until: date | None = None
    shutdown_date: date | None = None
    lifecycle_status: Literal["generally-available", "preview"] = "generally-available"

    def fine_tuning_open(self, today: date) -> bool:
        return self.fine_tune_until is not None and today <= self.fine_tune_until

    def shut_down(self, today: date) -> bool:
        return self.shutdown_date is not None and today >= self.shutdown_date


def default_catalogue() -> tuple[ModelInfo, ...]:
    """The teacher (GPT-4.1), the student base (GPT-4o-mini) and an older model, with the
    dates DESIGN.md gives; the dated snapshots are listed beside their aliases."""
    gpt41 = ModelInfo(
        id="gpt-4.1", created=1744316542, snapshot="gpt-4.1-2025-04-14", behaviour="teacher",
        fine_tune_until=OPENAI_FINE_TUNING_ENDS, shutdown_date=OPENAI_SHUTDOWN,
    )
    mini = ModelInfo(
        id="gpt-4o-mini", created=1721172741, snapshot="gpt-4o-mini-2024-07-18",
        behaviour="untuned", fine_tune_until=OPENAI_FINE_TUNING_ENDS,
        shutdown_date=OPENAI_SHUTDOWN,
    )
    turbo = ModelInfo(
        id="gpt-3.5-turbo", created=1677610602, snapshot="gpt-3.5-turbo-0125",
        behaviour="untuned", owned_by="openai",
    )
    return (
        gpt41, replace(gpt41, id=gpt41.snapshot),
        mini, replace(mini, id=mini.snapshot),
        turbo,
    )


def rehearsal_catalogue(today: date) -> tuple[ModelInfo, ...]:
    """The default catalogue with its fine-tuning end and shutdown moved to 30 and 38 days
    after ``today``."""
    moved: dict[date | None, date | None] = {
        OPENAI_FINE_TUNING_ENDS: today + timedelta(days=REHEARSAL_FINE_TUNING_DAYS),
        OPENAI_SHUTDOWN: today + timedelta(days=REHEARSAL_SHUTDOWN_DAYS),
    }
    return tuple(replace(m, fine_tune_until=moved.get(m.fine_tune_until, m.fine_tune_until),
                         shutdown_date=moved.get(m.shutdown_date, m.shutdown_date))
                 for m in default_catalogue())


def rehearsal_calendar(today: date) -> dict[str, dict[str, str | None]]:
    """The rehearsed deadlines as a Distillery calendar (``DISTILLERY_FINETUNE_CALENDAR``, which
    the console reads too), so the lifecycle guard and the console go by the sandbox's days
    rather than by the real ones: keyed ``openai:<model>``, with ``openai:*`` for the end of
    fine-tuning on every model."""
    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    calendar = {"openai:*": {"fine_tune_until": day(today + timedelta(days=REHEARSAL_FINE_TUNING_DAYS)),
                             "shutdown": None}}
    for model in rehearsal_catalogue(today):
        if model.fine_tune_until or model.shutdown_date:
            calendar[f"openai:{model.id}"] = {"fine_tune_until": day(model.fine_tune_until),
                                              "shutdown": day(model.shutdown_date)}
    return calendar


def with_dates(
    catalogue: tuple[ModelInfo, ...],
    shutdown: dict[str, date | None] | None = None,
    fine_tune_until: dict[str, date | None] | None = None,
) -> tuple[ModelInfo, ...]:
    """The catalogue with some models' dates moved (keyed by id or snapshot name)."""
    shutdown, fine_tune_until = shutdown or {}, fine_tune_until or {}
    known = {m.id for m in catalogue} | {m.snapshot for m in catalogue}
    unknown = (set(shutdown) | set(fine_tune_until)) - known
    if unknown:
        raise ValueError(f"unknown model(s) {sorted(unknown)}; the catalogue has {sorted(known)}")
    moved = []
    for model in catalogue:
        for key in (model.id, model.snapshot):
            if key in shutdown:
                model = replace(model, shutdown_date=shutdown[key])
            if key in fine_tune_until:
                model = replace(model, fine_tune_until=fine_tune_until[key])
        moved.append(model)
    return tuple(moved)


def unix_day(day: date) -> int:
    """Midnight UTC of a day as a unix timestamp (Azure's `deprecation` fields)."""
    return int(datetime.combine(day, time(0), tzinfo=timezone.utc).timestamp())
