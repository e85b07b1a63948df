"""Loops pause without holding up shutdown."""

from __future__ import annotations

import asyncio
import time

from distillery_runtime.waiting import sleep_unless_stopped


async def test_a_pause_runs_its_full_length_unless_stopping_is_set():
    stopping = asyncio.Event()
    started = time.monotonic()
    assert await sleep_unless_stopped(stopping, 0.05) is False
    assert time.monotonic() - started >= 0.05


async def test_setting_stopping_ends_a_long_pause_at_once():
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_later(0.02, stopping.set)
    started = time.monotonic()
    assert await sleep_unless_stopped(stopping, 30.0) is True
    assert time.monotonic() - started < 5.0
