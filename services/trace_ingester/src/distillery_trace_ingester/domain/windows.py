"""Which time range of Langfuse to read next, and when a generation is ready to publish.

Continuous capture keeps one watermark per project: every generation that started
before it has been read at least once. A poll reads ``[watermark - overlap, end)``
where ``end`` is ``now - settle_delay`` (or less, to bound one window's size while
catching up); the overlap re-reads the recent past because Langfuse's public API shows
an item minutes after it was ingested. Once the whole window is published the
watermark moves to ``end``. A generation that shows up later than ``overlap +
settle_delay`` after it started is only found by a backfill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Window:
    """A half-open range of generation start times, ``start <= t < end``.

    ``defer_from``: generations starting at or after it that have no end time yet are
    left for the next poll (they will be re-read); None means publish whatever is seen.
    """

    start: datetime
    end: datetime
    defer_from: datetime | None = None


@dataclass(frozen=True)
class Pacing:
    """How far behind ``now`` to read, how much to re-read, and how much at most at once."""

    overlap: timedelta
    settle_delay: timedelta
    max_span: timedelta
    poll_interval: timedelta


def to_millis(moment: datetime) -> datetime:
    """Truncate to the millisecond: Langfuse's precision, so a bound means the same to both."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def next_window(watermark: datetime, now: datetime, pacing: Pacing) -> Window | None:
    """The window to read after ``watermark``; None when nothing new can be settled yet."""
    end = to_millis(min(now - pacing.settle_delay, watermark + pacing.max_span))
    if end <= watermark:
        return None
    start = to_millis(watermark - pacing.overlap)
    return Window(start=start, end=end, defer_from=end - pacing.overlap)


def is_live(window: Window, now: datetime, pacing: Pacing) -> bool:
    """True when the window reached the present: wait a poll interval before the next one."""
    return window.end >= to_millis(now - pacing.settle_delay - pacing.poll_interval)


def backfill_window(position: datetime, until: datetime, now: datetime, pacing: Pacing) -> Window | None:
    """The next piece of a backfill from ``position`` to ``until``; None when it is done.

    A backfill reads each moment once (no overlap, nothing deferred); the part of its
    range that is still in the present is left to continuous capture.
    """
    end = to_millis(min(until, position + pacing.max_span, now - pacing.settle_delay))
    if end <= position:
        return None
    return Window(start=position, end=end, defer_from=None)


def is_deferred(observation: dict[str, Any], start: datetime, window: Window) -> bool:
    """Still running (no end time) and young enough to be read again by the next poll."""
    return window.defer_from is not None and start >= window.defer_from and not observation.get("endTime")
