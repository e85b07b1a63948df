"""How often the console's log warns of a model going away (which ones: model_calendar.ShutdownWatch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


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

