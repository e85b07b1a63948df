"""What time it is: services take a clock (``Callable[[], datetime]``) instead of reading
the system's, so that a test decides when "now" is and moves it on.

``utc_now`` is the clock services run with; ``FakeClock`` stands still until a test
advances or sets it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    return datetime.now(UTC)


class FakeClock:
    """A clock at ``now``, which only a test moves (``advance``, or setting ``now``)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
