"""Which routed models the console warns of, and the gauge alert rules read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.clock import utc_now
from distillery_runtime.model_calendar import (
    DEFAULT_MIN_SERVICE_LIFE_DAYS,
    CalendarEntry,
    ServingNotice,
    TrainingNotice,
    default_calendar,
    serving_notices,
    training_notice,
)


@dataclass(frozen=True)
class ShutdownWatch:
    """The routed models that stop within ``horizon_days`` of the clock's day, or have stopped;
    and the trained base model the lifecycle guard refuses within them, or already does."""

    calendar: Mapping[str, CalendarEntry] = field(default_factory=default_calendar)
    horizon_days: int = 60
    clock: Callable[[], datetime] = utc_now
    min_service_life_days: int = DEFAULT_MIN_SERVICE_LIFE_DAYS

    def training(self, base_model: str, provider: str) -> TrainingNotice | None:
        """The trained base model's notice, within the notice period."""
        return training_notice(self.calendar, base_model, provider, self.clock().date(), self.horizon_days,
                               self.min_service_life_days)

    def training_known(self, base_model: str, provider: str) -> TrainingNotice | None:
        """The trained base model's last training day however far: what the gauge shows."""
        return training_notice(self.calendar, base_model, provider, self.clock().date(), None,
                               self.min_service_life_days)

    def notices(self, routes: list[RouteTableUpdated]) -> list[ServingNotice]:
        return serving_notices(routes, self.calendar, self.clock().date(), self.horizon_days)

    def every_known(self, routes: list[RouteTableUpdated]) -> list[ServingNotice]:
        """Every routed model with a known shutdown day, however far: what the gauge shows, so
        that an alert rule picks its own threshold."""
        return serving_notices(routes, self.calendar, self.clock().date(), None)


@dataclass
class DailyWarnings:
    """Which warnings were given today: each key once a day, and only today's remembered."""

    day: date | None = None
    given: set[str] = field(default_factory=set)

    def due(self, key: str, today: date) -> bool:
        """True the first time ``key`` is asked about on ``today``."""
        if today != self.day:
            self.day, self.given = today, set()
        if key in self.given:
            return False
        self.given.add(key)
        return True

