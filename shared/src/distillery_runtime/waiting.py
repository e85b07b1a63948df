"""Pausing a loop without delaying shutdown."""

from __future__ import annotations

import asyncio
import contextlib


async def sleep_unless_stopped(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds``, or less if ``stopping`` is set meanwhile; True when it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
    return stopping.is_set()
