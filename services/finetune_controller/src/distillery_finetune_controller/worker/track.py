"""Following a job at the provider until it ends; deploying it where it must be deployed;
acting on cancel requests."""

from __future__ import annotations

import re

from distillery_contracts.finetune import JobError, JobStatus
from distillery_finetune_controller.domain.job import Job, Phase
from distillery_finetune_controller.domain.metrics import latest_metrics
from distillery_finetune_controller.domain.provider_types import ProviderRejected
from distillery_finetune_controller.worker.context import Worker, log
from distillery_finetune_controller.worker.submit import recover_created
from distillery_runtime.uow import UnitOfWork

POLL_GROWTH = 1.5


async def track_job(w: Worker, job: Job) -> None:
    """One poll: the job's state, its new events and checkpoints, and what changed."""
    assert job.provider_job_id is not None
    remote = await w.provider.get_job(job.provider_job_id)
    events = await w.provider.new_events(job.provider_job_id, job.last_event_id)
    checkpoints = await w.provider.checkpoints(job.provider_job_id)
    samples = [e.data for e in events if e.data] + [c.metrics for c in checkpoints]
    job.metrics = latest_metrics(job.metrics, samples)
    if events:
        job.last_event_id = events[-1].event_id
    before = (job.status, job.phase)
    changes = job.observe(remote, w.now(), needs_deployment=w.provider.needs_deployment)
    _schedule_poll(w, job, changed=(job.status, job.phase) != before)
    if job.phase is Phase.DEPLOYING:
        job.next_check_at = w.now()  # deploy in this same tick

    async def store_progress(uow: UnitOfWork) -> None:
        jobs = w.jobs_in(uow)
        await jobs.add_events(job.job_id, events)
        await jobs.add_checkpoints(job.job_id, checkpoints)

    await w.commit(job, changes, also=store_progress)
    if job.phase is Phase.DEPLOYING and before[1] is not Phase.DEPLOYING:
        log.info("trained; deploying before announcing success", job_id=job.job_id,
                 fine_tuned_model=job.fine_tuned_model, deployment=deployment_name(w, job))


async def deploy_job(w: Worker, job: Job) -> None:
    """Deploying → succeeded once the deployment is provisioned, or failed if it cannot be."""
    assert job.fine_tuned_model is not None
    name = deployment_name(w, job)
    current = await w.provider.get_deployment(name)
    if current is not None and current.model not in (None, job.fine_tuned_model):
        error = JobError(code="deployment_conflict",
                         message=f"deployment {name} already serves {current.model}; not replacing it")
        await w.commit(job, job.fail(error, w.now()))
        return
    if current is None:
        current = await w.provider.deploy(job.fine_tuned_model, name)
    if current.ready:
        await w.commit(job, job.deployed(name, w.now()))
    elif current.failed:
        reason = current.detail or f"provisioning ended {current.state}"
        error = JobError(code="deployment_failed",
                         message=f"deployment {name} of {job.fine_tuned_model} failed: {reason}")
        await w.commit(job, job.fail(error, w.now()))
    else:
        _schedule_poll(w, job, changed=False)
        await w.commit(job)


async def cancel_job(w: Worker, job: Job) -> None:
    """Act on a cancel request in whatever phase the job is."""
    log.info("cancelling fine-tuning job", job_id=job.job_id, phase=job.phase.value, reason=job.cancel_reason)
    if job.phase is Phase.CREATING:
        await recover_created(w, job)  # a lost create answer may have started a job to cancel
    if job.phase in (Phase.WAITING, Phase.UPLOADING, Phase.CREATING):
        job.cancel_sent = True
        await w.commit(job, job.move_to(JobStatus.CANCELLED, w.now()))
        return
    job.cancel_sent = True
    if job.phase is Phase.DEPLOYING:
        log.warning("the job has finished training; the cancel request is ignored", job_id=job.job_id)
        await w.commit(job)
        return
    assert job.provider_job_id is not None
    try:
        remote = await w.provider.cancel_job(job.provider_job_id)
    except ProviderRejected as exc:  # e.g. it ended meanwhile: the next poll says how
        log.warning("the provider refused to cancel the job", job_id=job.job_id, error=exc.message)
        job.next_check_at = w.now()
        await w.commit(job)
        return
    await w.commit(job, job.observe(remote, w.now(), needs_deployment=w.provider.needs_deployment))


def deployment_name(w: Worker, job: Job) -> str:
    """Deterministic, so a restart finds the deployment it started; ARM allows [\\w.-]{2,64}."""
    raw = f"{w.settings.deployment_prefix}-{job.dataset_id}"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", raw)[:64]


def _schedule_poll(w: Worker, job: Job, *, changed: bool) -> None:
    base, ceiling = w.settings.poll_interval_s, w.settings.poll_max_interval_s
    grown = min(ceiling, job.check_interval_s * POLL_GROWTH)
    job.check_interval_s = base if changed or not job.check_interval_s else grown
    job.failures = 0
    job.next_check_at = w.later(job.check_interval_s)
