"""Getting a job to the provider: a free slot, the lifecycle guard, uploads, creation.

Creation is the step that spends money, so it is made idempotent: the attempt is
committed before the provider is called, and a job with an earlier attempt is first
looked for in the provider's job list (by its metadata) before another create call.
"""

from __future__ import annotations

import asyncio

from distillery_contracts.finetune import JobError
from distillery_finetune_controller.adapters.dataset_files import verified_path
from distillery_finetune_controller.domain.job import FileRef, Job, Phase
from distillery_finetune_controller.domain.lifecycle import check_budget, check_lifecycle
from distillery_finetune_controller.domain.provider_types import FileState, ProviderJob, ProviderRejected
from distillery_finetune_controller.worker.context import Worker, log
from distillery_runtime.faults import crash_point

CRASH_AFTER_CREATE = "finetune_after_job_created"


async def start_job(w: Worker, job: Job) -> None:
    """Waiting → uploading once a slot is free and the job passes the budget cap and the
    lifecycle guard."""
    refusal = check_budget(job.estimated_cost_usd, w.settings.max_training_cost_usd)
    if refusal is None:
        async with w.new_uow() as uow:
            active = await w.jobs_in(uow).count_active(w.account)
        if active >= w.settings.job_slots:
            job.next_check_at = w.later(w.settings.worker_interval_s)
            await w.commit(job)
            return
        info = await w.provider.model_lifecycle(job.base_model)
        refusal = check_lifecycle(info, job.base_model, w.settings.lifecycle_policy(), w.now().date())
    if refusal is not None:
        log.warning("job refused before any upload", job_id=job.job_id, model=job.base_model, reason=refusal.code,
                    date=str(refusal.day) if refusal.day else None, fallback=w.settings.fallback_model,
                    detail=refusal.message)
        await w.commit(job, job.refuse(refusal, w.now()))
        return
    job.phase = Phase.UPLOADING
    job.next_check_at = w.now()
    await w.commit(job)


async def upload_files(w: Worker, job: Job) -> None:
    """Upload (or reuse) the train and validation files, committing each file id."""
    if job.training_file_id is None:
        job.training_file_id = await _ensure_uploaded(w, job.train, f"{job.dataset_id}-train.jsonl")
        await w.commit(job)
    if job.validation_file_id is None and job.validation.size_bytes > 0:
        job.validation_file_id = await _ensure_uploaded(w, job.validation, f"{job.dataset_id}-validation.jsonl")
        await w.commit(job)
    job.phase = Phase.CREATING
    job.next_check_at = w.now()
    await w.commit(job)


async def _ensure_uploaded(w: Worker, ref: FileRef, filename: str) -> str:
    async with w.new_uow() as uow:
        known = await w.jobs_in(uow).find_file(w.account, ref.sha256)
    if known is not None:
        existing = await w.provider.get_file(known)
        if existing is not None and existing.state is not FileState.FAILED:
            log.info("reusing an identical uploaded file", file_id=known, filename=filename)
            return known
    path = await asyncio.to_thread(verified_path, ref)
    uploaded = await w.provider.upload_file(path, filename)
    if uploaded.state is FileState.FAILED:
        raise ProviderRejected(uploaded.detail or f"the provider could not process {filename}", code="invalid_file")
    async with w.new_uow() as uow:
        await w.jobs_in(uow).remember_file(w.account, ref.sha256, uploaded.file_id, filename,
                                           ref.size_bytes, w.now())
        await uow.commit()
    log.info("uploaded a dataset file", file_id=uploaded.file_id, filename=filename, bytes=ref.size_bytes)
    return uploaded.file_id


async def create_job(w: Worker, job: Job) -> None:
    """Creating → tracking: find the job an earlier attempt made, or create it once."""
    # Files were checked before the first attempt; later attempts only look for its job.
    if job.create_attempts == 0 and not await _files_ready(w, job):
        return
    if await recover_created(w, job):
        return
    request = job.request()
    job.create_attempts += 1
    job.intent_at = job.intent_at or w.now()
    await w.commit(job)  # the intent: from here on a lost answer is looked for, not repeated
    created = await w.provider.create_job(request)
    crash_point(CRASH_AFTER_CREATE)
    await _record_submitted(w, job, created)


async def recover_created(w: Worker, job: Job) -> bool:
    """Record the job an earlier create attempt made, if it made one; whether it did."""
    if job.create_attempts == 0 or job.intent_at is None:
        return False
    async with w.new_uow() as uow:
        taken = await w.jobs_in(uow).provider_job_ids(w.account)
    found = await w.provider.find_job(job.request(), job.intent_at, taken)
    if found is None:
        return False
    log.info("found the job an earlier attempt created", job_id=job.job_id, provider_job_id=found.provider_job_id)
    await _record_submitted(w, job, found)
    return True


async def _record_submitted(w: Worker, job: Job, created: ProviderJob) -> None:
    changes = job.submitted(created, w.now(), needs_deployment=w.provider.needs_deployment)
    job.failures = 0
    job.check_interval_s = w.settings.poll_interval_s
    job.next_check_at = w.later(w.settings.poll_interval_s)
    await w.commit(job, changes)


async def _files_ready(w: Worker, job: Job) -> bool:
    """Whether the provider has processed both files; fails or re-uploads when it cannot."""
    for attribute in ("training_file_id", "validation_file_id"):
        file_id = getattr(job, attribute)
        if file_id is None:
            continue
        found = await w.provider.get_file(file_id)
        if found is None:  # deleted at the provider since: upload it again
            setattr(job, attribute, None)
            job.phase = Phase.UPLOADING
            job.next_check_at = w.now()
            await w.commit(job)
            return False
        if found.state is FileState.FAILED:
            message = found.detail or f"the provider could not process file {file_id}"
            await w.commit(job, job.fail(JobError(code="invalid_file", message=message), w.now()))
            return False
        if found.state is FileState.PROCESSING:
            job.next_check_at = w.later(min(w.settings.poll_interval_s, 5.0))
            await w.commit(job)
            return False
    return True
