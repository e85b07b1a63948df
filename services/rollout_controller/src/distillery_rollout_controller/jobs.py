"""The evaluation loop: judge the live stage on a timer and soon after new data arrives."""

from __future__ import annotations

import asyncio
import contextlib

from distillery_rollout_controller.handlers import RepositoryFactory
from distillery_rollout_controller.services import RolloutController
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.logs import get_logger
from distillery_runtime.service import ServiceContext

log = get_logger(__name__)


class EvaluationLoop:
    """Runs ``RolloutController.evaluate`` every ``interval_s`` and ``settle_s`` after a wake-up.

    The settle delay lets the consumer's transaction that woke it commit first and
    gathers the wake-ups of a burst of batches into one evaluation.
    """

    def __init__(self, controller: RolloutController, repository: RepositoryFactory,
                 interval_s: float, settle_s: float = 0.2) -> None:
        self.controller = controller
        self.repository = repository
        self.interval_s = interval_s
        self.settle_s = settle_s
        self._woken = asyncio.Event()
        self._failures = 0

    def wake(self) -> None:
        self._woken.set()

    async def run_evaluations(self, ctx: ServiceContext) -> None:
        while not ctx.stopping.is_set():
            await self.evaluate_once(ctx)
            await self._wait(ctx)

    async def evaluate_once(self, ctx: ServiceContext) -> None:
        try:
            async with ctx.new_uow() as uow:
                await self.controller.evaluate(self.repository(uow), uow)
                await uow.commit()
            self._failures = 0
        except Exception as exc:  # the loop must outlive a failed round; the next one retries
            self._failures += 1
            level = log.warning if is_infrastructure_error(exc) else log.exception
            level("rollout evaluation failed; retrying", error=repr(exc), failures=self._failures)

    async def _wait(self, ctx: ServiceContext) -> None:
        backoff = min(30.0, 0.5 * 2 ** self._failures) if self._failures else 0.0
        timeout = max(backoff, self.interval_s)
        stop = asyncio.ensure_future(ctx.stopping.wait())
        woken = asyncio.ensure_future(self._woken.wait())
        try:
            await asyncio.wait([stop, woken], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stop, woken):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._woken.is_set() and not ctx.stopping.is_set():
            self._woken.clear()
            await asyncio.sleep(max(self.settle_s, backoff))
