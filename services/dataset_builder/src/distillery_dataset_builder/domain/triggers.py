"""When a build starts: on command, on schedule, or when enough new examples have arrived.

A command waits for nobody: it goes first. A schedule that fired while the service was
down fires once when it is back, not once per missed date. A scheduled build with no
new example since the last build is skipped: it would repeat the last dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from croniter import croniter

from distillery_contracts.datasets import BuildTrigger


def next_fire(expression: str, after: datetime) -> datetime:
    """The first time ``expression`` (cron, UTC) fires strictly after ``after``."""
    return croniter(expression, after).get_next(datetime)


@dataclass(frozen=True)
class TriggerView:
    """What the trigger decision reads."""

    pending_command: bool
    new_examples: int
    """Examples stored (and not retracted) since the last build began."""
    threshold: int
    schedule: str
    """Cron expression, or empty when scheduled builds are off."""
    schedule_anchor: datetime | None
    """When the schedule last fired (or was first seen)."""


@dataclass(frozen=True)
class TriggerDecision:
    """What to do now: build (and why), and whether the schedule has fired."""

    trigger: BuildTrigger | None
    schedule_fired: bool = False


def decide(view: TriggerView, now: datetime) -> TriggerDecision:
    """The trigger to act on now, if any; see the module docstring for the order."""
    fired = bool(view.schedule and view.schedule_anchor and next_fire(view.schedule, view.schedule_anchor) <= now)
    if view.pending_command:
        return TriggerDecision(BuildTrigger.COMMAND, fired)
    if fired and view.new_examples > 0:
        return TriggerDecision(BuildTrigger.SCHEDULE, True)
    if view.new_examples >= view.threshold:
        return TriggerDecision(BuildTrigger.THRESHOLD, fired)
    return TriggerDecision(None, fired)
