"""The one background loop every service uses: steps on an interval, backoff, wake-ups, leadership.

A service's background work (capturing a Langfuse window, building a dataset, moving
fine-tuning jobs on, judging a rollout stage) is a *step*: an async function of the
service context that does one round of work and says whether more is waiting at once.
:class:`Worker` runs it until the service stops:

- after a step that reports more work it runs again at once, otherwise it waits
  ``interval_s`` or until :meth:`Worker.wake` (then ``settle_s`` more, so that a burst of
  wake-ups becomes one round). A handler wakes a worker from ``UnitOfWork.after_commit``, so
  the step finds what the handler stored;
- a failing step is logged and retried with exponential backoff (never faster than the
  interval), so one bad round never stops the service; only ``fatal`` errors (bad
  configuration) escape and stop it with one line;
- with ``lock`` set, the loop runs only while this instance holds that advisory lock,
  for the loop's whole life: several instances may run, one leads, and when the leader's
  connection dies another takes over. ``on_lead`` runs once each time leadership is won
  (resuming what a dead leader left half done); a step raising ``LockLost`` (its fencing
  token was superseded, see ``fencing.py``) ends the lead, which is then tried for again;
  ``on_stop`` runs when the loop ends;
- with ``until_done``, the loop stops after its first successful step (one-off start-up
  work that must survive an outage), and the task idles until shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from distillery_runtime.errors import ConfigError
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.locks import HeldLock, LockLost, advisory_lock
from distillery_runtime.logs import get_logger
from distillery_runtime.safe_errors import safe_summary
from distillery_runtime.metrics import WORKER_FAILURES
from distillery_runtime.service import ServiceContext
from distillery_runtime.waiting import sleep_unless_stopped

log = get_logger(__name__)

Step = Callable[[ServiceContext], Awaitable[bool | None]]


@dataclass
class Worker:
    """A named background loop around ``step``; see the module docstring."""

    name: str
    step: Step
    interval_s: float
    lock: str | None = None
    on_lead: Callable[[ServiceContext], Awaitable[None]] | None = None
    on_stop: Callable[[], Awaitable[None]] | None = None
    settle_s: float = 0.0
    backoff_s: float = 0.5
    max_backoff_s: float = 60.0
    until_done: bool = False
    fatal: tuple[type[BaseException], ...] = (ConfigError,)
    failures: int = field(default=0, init=False)
    done: bool = field(default=False, init=False)
    _woken: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    @property
    def __name__(self) -> str:  # the service names the task after its background job
        return self.name

    def wake(self) -> None:
        """Run the next step soon instead of at the end of the interval."""
        self._woken.set()

    async def __call__(self, ctx: ServiceContext) -> None:
        await self.run(ctx)

    async def run(self, ctx: ServiceContext) -> None:
        """Run until the service stops; raises only ``fatal`` errors. ``on_stop`` runs last
        (closing the clients the steps used)."""
        try:
            await self._run(ctx)
        finally:
            if self.on_stop is not None:
                await self.on_stop()

    async def _run(self, ctx: ServiceContext) -> None:
        while not ctx.stopping.is_set():
            try:
                if self.lock is None:
                    await self._steps(ctx, None)
                else:
                    async with advisory_lock(ctx.engine, self.lock) as held:
                        if held is None:  # another instance leads; stand by
                            await sleep_unless_stopped(ctx.stopping, self.interval_s)
                            continue
                        log.info("leading", worker=self.name, service=ctx.name)
                        await self._steps(ctx, held)
            except self.fatal:
                raise
            except Exception as exc:  # lost the lock or failed to take it: try again later
                self._failed(ctx, exc)
                await sleep_unless_stopped(ctx.stopping, self._pause())
            if self.done:
                await ctx.stopping.wait()

    async def _steps(self, ctx: ServiceContext, held: HeldLock | None) -> None:
        if held is not None and self.on_lead is not None:
            await self.on_lead(ctx)
        while not ctx.stopping.is_set():
            busy = await self._step_once(ctx)
            if self.until_done and self.failures == 0:
                self.done = True
                return
            if held is not None:
                await held.check()
            if not busy:
                await self._wait(ctx, self._pause() if self.failures else self.interval_s)

    async def _step_once(self, ctx: ServiceContext) -> bool:
        try:
            busy = bool(await self.step(ctx))
        except self.fatal:
            raise
        except LockLost:
            raise  # a step found it no longer leads (its fencing token was superseded): stop leading
        except Exception as exc:
            self._failed(ctx, exc)
            return False
        self.failures = 0
        return busy

    def _failed(self, ctx: ServiceContext, exc: BaseException) -> None:
        self.failures += 1
        WORKER_FAILURES.labels(ctx.name, self.name).inc()
        report = log.warning if is_infrastructure_error(exc) else log.error
        report("background step failed; retrying", worker=self.name, error=safe_summary(exc),
               failures=self.failures, retry_in_s=round(self._pause(), 3))

    def _pause(self) -> float:
        backoff = min(self.max_backoff_s, self.backoff_s * 2 ** max(0, self.failures - 1))
        return max(backoff, self.interval_s)

    async def _wait(self, ctx: ServiceContext, seconds: float) -> None:
        stop = asyncio.ensure_future(ctx.stopping.wait())
        woken = asyncio.ensure_future(self._woken.wait())
        try:
            await asyncio.wait([stop, woken], timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stop, woken):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._woken.is_set() and not ctx.stopping.is_set():
            self._woken.clear()
            await sleep_unless_stopped(ctx.stopping, self.settle_s)
