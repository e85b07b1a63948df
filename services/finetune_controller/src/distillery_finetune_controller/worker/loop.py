"""The worker: one instance at a time moves every unfinished job forward, tick by tick.

Leadership is a PostgreSQL advisory lock held on a dedicated connection, so with several
controller instances exactly one talks to the provider; if it dies, its connection
closes, the lock is released and another instance resumes every unfinished job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from distillery_contracts.finetune import JobError
from distillery_finetune_controller.adapters.dataset_files import DatasetFileError
from distillery_finetune_controller.adapters.providers.base import AbstractFineTuneProvider
from distillery_finetune_controller.adapters.registry_repository import SqlModelRegistry
from distillery_finetune_controller.adapters.repository import SqlJobRepository
from distillery_finetune_controller.config import FinetuneSettings
from distillery_finetune_controller.domain.job import Job, Phase
from distillery_finetune_controller.domain.provider_types import ProviderRejected, ProviderUnavailable
from distillery_finetune_controller.metrics import PROVIDER_FAILURES
from distillery_finetune_controller.worker.context import Worker, log
from distillery_finetune_controller.worker.submit import create_job, start_job, upload_files
from distillery_finetune_controller.worker.track import cancel_job, deploy_job, track_job
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.service import ServiceContext
from distillery_runtime.waiting import sleep_unless_stopped

STEPS: dict[Phase, Callable[[Worker, Job], Awaitable[None]]] = {
    Phase.WAITING: start_job,
    Phase.UPLOADING: upload_files,
    Phase.CREATING: create_job,
    Phase.TRACKING: track_job,
    Phase.DEPLOYING: deploy_job,
}
MAX_STEPS_PER_TICK = 5
LEADER_LOCK = "finetune-controller:worker"


async def tick(w: Worker) -> int:
    """Move every due job as far as it can go now; how many jobs were due."""
    async with w.new_uow() as uow:
        due = await w.jobs_in(uow).due(w.account, w.now())
    for job in due:
        await advance_safely(w, job)
    return len(due)


async def advance(w: Worker, job: Job) -> None:
    for _ in range(MAX_STEPS_PER_TICK):
        if job.finished:
            return
        if job.cancel_requested and not job.cancel_sent:
            await cancel_job(w, job)
            return
        if job.next_check_at > w.now():
            return
        phase = job.phase
        await STEPS[phase](w, job)
        if job.phase is phase:
            return  # no progress: wait for the job's next check


async def advance_safely(w: Worker, job: Job) -> None:
    """Advance ``job``; a provider failure reschedules it or fails it, never stops the tick."""
    try:
        await advance(w, job)
    except ProviderUnavailable as exc:
        PROVIDER_FAILURES.labels(w.provider.name, "retried").inc()
        await retry_later(w, job.job_id, str(exc), exc.retry_after_s)
    except ProviderRejected as exc:
        PROVIDER_FAILURES.labels(w.provider.name, "refused").inc()
        await fail(w, job.job_id, exc.as_job_error())
    except DatasetFileError as exc:
        await fail(w, job.job_id, JobError(code="dataset_file", message=str(exc)))
    except Exception as exc:
        if is_infrastructure_error(exc):
            raise
        log.exception("unexpected error advancing a job; will retry", job_id=job.job_id)
        await retry_later(w, job.job_id, f"{type(exc).__name__}: {exc}", None)


async def retry_later(w: Worker, job_id: str, reason: str, retry_after_s: float | None) -> None:
    job = await w.reload(job_id)
    job.failures += 1
    delay = min(w.settings.retry_max_s, w.settings.retry_base_s * 2 ** (job.failures - 1))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, w.settings.retry_max_s))
    job.next_check_at = w.later(delay)
    await w.commit(job)
    log.warning("provider call failed; retrying later", job_id=job_id, phase=job.phase.value,
                attempt=job.failures, retry_in_s=round(delay, 3), error=reason)


async def fail(w: Worker, job_id: str, error: JobError) -> None:
    job = await w.reload(job_id)
    await w.commit(job, job.fail(error, w.now()))


def worker_job(settings: FinetuneSettings,
               provider_factory: Callable[[FinetuneSettings], AbstractFineTuneProvider]) -> Callable[
                   [ServiceContext], Awaitable[None]]:
    """The background job the service runs: the provider client lives as long as it does."""

    async def finetune_worker(ctx: ServiceContext) -> None:
        provider = provider_factory(settings)
        worker = Worker(new_uow=ctx.new_uow, provider=provider, settings=settings,
                        jobs_in=lambda uow: SqlJobRepository(uow.session),
                        registry_in=lambda uow: SqlModelRegistry(uow.session))
        try:
            await run_as_leader(ctx, worker)
        finally:
            await provider.close()

    return finetune_worker


async def run_as_leader(ctx: ServiceContext, w: Worker) -> None:
    backoff = w.settings.worker_interval_s
    while not ctx.stopping.is_set():
        try:
            async with ctx.engine.connect() as conn:
                lock = text("select pg_try_advisory_lock(hashtext(:n))")
                got = (await conn.execute(lock, {"n": LEADER_LOCK})).scalar()
                await conn.commit()
                if got:
                    await _lead(ctx, w, conn)
                else:
                    await sleep_unless_stopped(ctx.stopping, w.settings.worker_interval_s)
            backoff = w.settings.worker_interval_s
        except Exception as exc:
            if ctx.stopping.is_set():
                return
            backoff = min(60.0, backoff * 2)
            log.warning("worker failed; retrying", error=repr(exc), retry_in_s=backoff)
            await sleep_unless_stopped(ctx.stopping, backoff)


async def _lead(ctx: ServiceContext, w: Worker, conn: AsyncConnection) -> None:
    async with w.new_uow() as uow:
        resumed = await w.jobs_in(uow).resume_all(w.account, w.now())
        await uow.commit()
    log.info("worker started", provider=w.provider.name, unfinished_jobs=resumed, slots=w.settings.job_slots)
    while not ctx.stopping.is_set():
        await tick(w)
        await conn.execute(text("select 1"))  # a dead lock connection ends leadership here
        await conn.commit()
        await sleep_unless_stopped(ctx.stopping, w.settings.worker_interval_s)
