"""Which routed models the console warns of, and the gauge alert rules read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.clock import utc_now
from distillery_runtime.model_calendar import CalendarEntry, ServingNotice, default_calendar, serving_notices


@dataclass(frozen=True)
class ShutdownWatch:
    """The routed models that stop within ``horizon_days`` of the clock's day, or have stopped."""

    calendar: Mapping[str, CalendarEntry] = field(default_factory=default_calendar)
    horizon_days: int = 60
    clock: Callable[[], datetime] = utc_now

    def notices(self, routes: list[RouteTableUpdated]) -> list[ServingNotice]:
        return serving_notices(routes, self.calendar, self.clock().date(), self.horizon_days)

    def every_known(self, routes: list[RouteTableUpdated]) -> list[ServingNotice]:
        """Every routed model with a known shutdown day, however far: what the gauge shows, so
        that an alert rule picks its own threshold."""
        return serving_notices(routes, self.calendar, self.clock().date(), None)
