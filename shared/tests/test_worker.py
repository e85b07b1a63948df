"""The one background loop: pace, backoff, wake-ups, fatal errors and one-off work, without a database."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from distillery_runtime.errors import ConfigError
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.worker import Worker


def context() -> ServiceContext:
    return ServiceContext(name="test", settings=RuntimeSettings(), engine=None,  # type: ignore[arg-type]
                          sessions=None, new_uow=lambda: None, broker=None,  # type: ignore[arg-type]
                          stopping=asyncio.Event())


class Steps:
    """A step that follows a script: True (more work), None (idle) or an exception to raise."""

    def __init__(self, ctx: ServiceContext, *script: Any) -> None:
        self.ctx = ctx
        self.script = list(script)
        self.times: list[float] = []

    async def __call__(self, ctx: ServiceContext) -> bool | None:
        self.times.append(asyncio.get_running_loop().time())
        if not self.script:
            self.ctx.stopping.set()
            return None
        outcome = self.script.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


async def test_runs_again_at_once_while_a_step_reports_more_work():
    ctx = context()
    steps = Steps(ctx, True, True)
    await asyncio.wait_for(Worker("w", steps, interval_s=10).run(ctx), 1)
    assert len(steps.times) == 3  # no 10 s wait between busy steps


async def test_a_failing_step_is_retried_after_a_growing_pause_and_the_service_keeps_running():
    ctx = context()
    steps = Steps(ctx, RuntimeError("boom"), RuntimeError("boom"), True)
    worker = Worker("w", steps, interval_s=0.0, backoff_s=0.05, max_backoff_s=1)
    await asyncio.wait_for(worker.run(ctx), 2)
    gaps = [b - a for a, b in zip(steps.times, steps.times[1:])]
    assert len(steps.times) == 4
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # 0.05, then doubled
    assert worker.failures == 0  # success resets the backoff


async def test_infrastructure_outages_are_retried_like_any_failure():
    ctx = context()
    steps = Steps(ctx, OperationalError("select", {}, ConnectionRefusedError()), True)
    await asyncio.wait_for(Worker("w", steps, interval_s=0, backoff_s=0.01).run(ctx), 1)
    assert len(steps.times) == 3


async def test_bad_configuration_stops_the_loop_with_its_message():
    ctx = context()
    with pytest.raises(ConfigError, match="wrong key"):
        await asyncio.wait_for(Worker("w", Steps(ctx, ConfigError("wrong key")), interval_s=0).run(ctx), 1)


async def test_a_wake_up_cuts_the_interval_short_after_the_settle_delay():
    ctx = context()
    steps = Steps(ctx, None)
    worker = Worker("w", steps, interval_s=30, settle_s=0.05)

    async def wake_soon() -> None:
        await asyncio.sleep(0.05)
        worker.wake()

    waker = asyncio.create_task(wake_soon())
    await asyncio.wait_for(worker.run(ctx), 2)
    await waker
    assert len(steps.times) == 2
    assert steps.times[1] - steps.times[0] >= 0.1  # the wake-up, then the settle delay


async def test_one_off_work_runs_until_it_succeeds_once_then_idles_until_shutdown():
    ctx = context()
    steps = Steps(ctx, RuntimeError("database not ready"), None, None)
    worker = Worker("w", steps, interval_s=0, backoff_s=0.01, until_done=True)
    task = asyncio.create_task(worker.run(ctx))
    await asyncio.sleep(0.2)
    assert len(steps.times) == 2 and worker.done and not task.done()
    ctx.stopping.set()
    await asyncio.wait_for(task, 1)


async def test_stopping_ends_a_long_wait_at_once():
    ctx = context()
    worker = Worker("w", Steps(ctx, None, None, None), interval_s=60)
    task = asyncio.create_task(worker.run(ctx))
    await asyncio.sleep(0.05)
    ctx.stopping.set()
    await asyncio.wait_for(task, 1)


async def test_on_stop_runs_when_the_loop_ends_even_on_a_fatal_error():
    ctx = context()
    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    with pytest.raises(ConfigError):
        await Worker("w", Steps(ctx, ConfigError("bad")), interval_s=0, on_stop=close).run(ctx)
    assert closed == [True]
