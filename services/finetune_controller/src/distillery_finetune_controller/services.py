"""The finetune-controller's use cases: what a message or a worker round does to jobs, the
model registry and the provider.

The consumers only record what must happen (a new job, a cancel request, a registry
change, a retired model's deployment to release) in their own transaction and never call
the provider, so a slow or failing provider never holds back a topic. The worker (one
instance leads) moves each due job forward: it reads the job, talks to the provider
outside any transaction, then commits the job, its history and its events (through the
outbox) in one unit of work. Each job is stored under its provider's account and moved by
that provider: the configured one, or the fallback the lifecycle guard sent it to.

Creation is the step that spends money, so it is made idempotent: the attempt is
committed before the provider is called, and a job with an earlier attempt is first
looked for in the provider's job list (by its metadata) before another create call.

Every save is fenced: the leader takes a fencing token when it wins the lock, and each unit
of work that saves its work checks the token first (``distillery_runtime.fencing``). A leader
that lost the lock therefore cannot commit a create intent, so it never calls create, and
nothing else it did is saved; it raises ``LostLease`` and gives up leading.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from distillery_contracts.commands import CancelJob
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.envelope import Envelope
from distillery_contracts.finetune import FinetuneJobChanged, JobError, JobStatus
from distillery_contracts.registry import FINETUNE_JOBS
from distillery_contracts.rollout import RolloutDecided
from distillery_finetune_controller.adapters.dataset_files import DatasetFileError, verified_path
from distillery_finetune_controller.adapters.job_store import AbstractJobStore
from distillery_finetune_controller.adapters.model_store import AbstractModelStore
from distillery_finetune_controller.adapters.providers.base import AbstractFineTuneProvider
from distillery_finetune_controller.config import FinetuneSettings, ProviderKind
from distillery_finetune_controller.domain.job import FileRef, Job, Phase, deployment_name, new_job
from distillery_finetune_controller.domain.lifecycle import LifecyclePolicy, Refusal, check_budget, check_lifecycle
from distillery_finetune_controller.domain.metrics import job_checkpoints, latest_metrics, loss_curve
from distillery_finetune_controller.domain.provider_types import (
    CredentialsRefused,
    FileState,
    ProviderJob,
    ProviderRejected,
    ProviderUnavailable,
)
from distillery_finetune_controller.domain.registry import RegisteredModel, decision_changes, registered_model
from distillery_finetune_controller.metrics import JOBS_CHANGED, PROVIDER_FAILURES
from distillery_runtime.blobstore import AbstractBlobStore
from distillery_runtime.clock import utc_now
from distillery_runtime.errors import PermanentError
from distillery_runtime.faults import crash_point
from distillery_runtime.fencing import LostLease
from distillery_runtime.infra import is_infrastructure_error
from distillery_runtime.logs import get_logger
from distillery_runtime.service import ServiceContext
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)

JobStoreFactory = Callable[[UnitOfWork], AbstractJobStore]
ModelStoreFactory = Callable[[UnitOfWork], AbstractModelStore]

CRASH_AFTER_CREATE = "finetune_after_job_created"
LEADER = "finetune-controller:worker"
"""The worker's lock name (app.WORKER_LOCK) and the name of its fencing tokens."""
MAX_STEPS_PER_TICK = 5
DUE_PER_TICK = 100


# --- what the consumers do ------------------------------------------------------------------

async def queue_dataset(jobs: AbstractJobStore, settings: FinetuneSettings, dataset: DatasetBuilt,
                        cause: Envelope, now: datetime) -> None:
    """A built dataset becomes a waiting job (once: a redelivery finds the job it made)."""
    job = new_job(dataset, settings.job_defaults(), cause.model_dump(mode="json"), now)
    added = await jobs.add(job, settings.provider_account)
    log.info("dataset queued for fine-tuning" if added else "dataset already has a job",
             job_id=job.job_id, dataset_id=dataset.dataset_id, base_model=job.base_model, cycle_id=dataset.cycle_id)


async def request_cancel(jobs: AbstractJobStore, command: CancelJob) -> None:
    """Mark the job for the worker to cancel; an unknown job is a permanent error."""
    job = await jobs.get(command.job_id)
    if job is None:
        raise PermanentError(f"cannot cancel {command.job_id}: no such fine-tuning job")
    if job.finished:
        log.info("cancel ignored: the job has ended", job_id=job.job_id, status=str(job.status))
        return
    await jobs.request_cancel(job.job_id, command.reason or f"requested by {command.requested_by}")
    log.info("cancel requested", job_id=job.job_id, by=command.requested_by, reason=command.reason)


async def apply_decision(registry: AbstractModelStore, settings: FinetuneSettings, decision: RolloutDecided) -> None:
    """Move the models a rollout decision concerns through the registry; a model it retires has
    its deployment released by the worker once routers have stopped calling it."""
    names = [decision.candidate_model, *([decision.previous_model] if decision.previous_model else [])]
    concerned = await registry.concerned(names)
    for change in decision_changes(decision, concerned, timedelta(seconds=settings.undeploy_delay_s)):
        await registry.apply(change, decision.decided_at)
        log.info("model registry updated", model=change.fine_tuned_model, status=change.status.value,
                 rollout_id=change.rollout_id, decision=decision.decision.value,
                 undeploy_at=change.undeploy_at.isoformat() if change.undeploy_at else None)


# --- what the worker does --------------------------------------------------------------------

def _unbound() -> UnitOfWork:
    raise RuntimeError("this JobContext has no units of work yet: bind it with running_in(ctx)")


@dataclass
class Lead:
    """The fencing token this instance took when it last won the worker's lock (None: not taken,
    as in tests that tick without leading); shared by every copy of a JobContext."""

    token: int | None = None


@dataclass
class JobContext:
    """What moving jobs needs: the providers, the settings, the stores and a clock (all
    injected; tests hand in fakes), and units of work, which the running service supplies.

    ``primary`` is the configured provider and ``fallback`` the one the lifecycle guard may
    send a job to; a round moves each provider's jobs with a context bound to it (``on``),
    whose ``provider`` it is. ``step`` and ``on_lead`` are the runtime ``Worker``'s step and
    leadership hook.
    """

    primary: AbstractFineTuneProvider
    settings: FinetuneSettings
    jobs_in: JobStoreFactory
    registry_in: ModelStoreFactory
    datasets: AbstractBlobStore
    fallback: AbstractFineTuneProvider | None = None
    now: Callable[[], datetime] = field(default=utc_now)
    new_uow: Callable[[], UnitOfWork] = field(default=_unbound)
    bound: AbstractFineTuneProvider | None = None
    lead: Lead = field(default_factory=Lead)

    @property
    def providers(self) -> list[AbstractFineTuneProvider]:
        return [self.primary, *([self.fallback] if self.fallback is not None else [])]

    @property
    def provider(self) -> AbstractFineTuneProvider:
        """The provider whose jobs are being moved."""
        return self.bound or self.primary

    @property
    def account(self) -> str:
        return self.provider.account

    @property
    def job_slots(self) -> int:
        return self.settings.job_slots_of(ProviderKind(self.provider.name))

    @property
    def policy(self) -> LifecyclePolicy:
        return self.settings.lifecycle_policy(ProviderKind(self.provider.name))

    @property
    def falls_back(self) -> bool:
        """Whether a job the lifecycle guard refuses here continues on the fallback instead."""
        return self.settings.auto_fallback and self.fallback is not None and self.provider is not self.fallback

    def on(self, provider: AbstractFineTuneProvider) -> JobContext:
        return dataclasses.replace(self, bound=provider)

    def later(self, seconds: float) -> datetime:
        return self.now() + timedelta(seconds=seconds)

    def running_in(self, ctx: ServiceContext) -> JobContext:
        return dataclasses.replace(self, new_uow=ctx.new_uow)

    async def step(self, ctx: ServiceContext) -> bool:
        """One round: move every due job; True when a full page was due (more are waiting)."""
        return await tick(self.running_in(ctx)) >= DUE_PER_TICK

    async def on_lead(self, ctx: ServiceContext) -> None:
        """Leadership won: a new fencing token (an earlier leader's saves fail from now on), then
        every unfinished job is due now, whatever a dead leader left half done."""
        await take_lead(self.running_in(ctx))
        await resume(self.running_in(ctx))

    @asynccontextmanager
    async def fenced(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work that may save the leader's work: it raises ``LostLease`` first when
        another instance has taken the lead since this one did."""
        async with self.new_uow() as uow:
            if self.lead.token is not None:
                await self.jobs_in(uow).hold_lead(LEADER, self.lead.token)
            yield uow

    async def commit(self, job: Job, changes: Sequence[FinetuneJobChanged] = (),
                     also: Callable[[UnitOfWork], Awaitable[None]] | None = None) -> None:
        """Save ``job``, add ``changes`` to its history and publish them, all at once; each
        change carries the job's loss curve as stored, with what ``also`` stores included."""
        async with self.fenced() as uow:
            jobs = self.jobs_in(uow)
            job.updated_at = self.now()
            await jobs.save(job)
            if also is not None:
                await also(uow)
            if changes and job.provider_job_id is not None:
                checkpoints = await jobs.checkpoints(job.job_id)
                curve = loss_curve(await jobs.events(job.job_id), checkpoints)
                changes = [c.model_copy(update={"loss_curve": curve, "checkpoints": job_checkpoints(checkpoints)})
                           for c in changes]
            cause = Envelope.model_validate(job.cause) if job.cause else None
            for change in changes:
                await jobs.record_status(job.job_id, change.status, change.occurred_at)
                uow.emit(FINETUNE_JOBS, change, cause=cause, correlation_id=job.cycle_id)
                if change.status is JobStatus.SUCCEEDED:
                    await self.registry_in(uow).register(registered_model(job, change.occurred_at))
            await uow.commit()
        for change in changes:
            _log_change(change)

    async def reload(self, job_id: str) -> Job:
        async with self.new_uow() as uow:
            job = await self.jobs_in(uow).get(job_id)
        if job is None:
            raise LookupError(f"job {job_id} vanished from the database")
        return job


async def take_lead(c: JobContext) -> int:
    """Take the next fencing token for this instance's saves; the token."""
    async with c.new_uow() as uow:
        token = await c.jobs_in(uow).take_lead(LEADER)
        await uow.commit()
    c.lead.token = token
    log.info("took the worker's fencing token", token=token)
    return token


async def resume(c: JobContext) -> int:
    """Make every unfinished job of every provider due now; how many there are."""
    resumed = 0
    for bound in (c.on(p) for p in c.providers):
        async with c.new_uow() as uow:
            unfinished = await c.jobs_in(uow).resume_all(bound.account, c.now())
            await uow.commit()
        log.info("worker started", provider=bound.provider.name, unfinished_jobs=unfinished, slots=bound.job_slots)
        resumed += unfinished
    return resumed


async def tick(c: JobContext) -> int:
    """Move every due job as far as it can go now, each with its own provider, then release
    the deployments due; how many jobs were due."""
    due = 0
    for bound in (c.on(p) for p in c.providers):
        due += await _move_due_jobs(bound)
        if bound.provider.needs_deployment:
            await release_deployments(bound)
    return due


async def _move_due_jobs(c: JobContext) -> int:
    async with c.new_uow() as uow:
        due = await c.jobs_in(uow).due(c.account, c.now(), limit=DUE_PER_TICK)
    for job in due:
        await advance_safely(c, job)
    return len(due)


async def advance_safely(c: JobContext, job: Job) -> None:
    """Advance ``job``; a provider failure reschedules it or fails it, never stops the tick."""
    try:
        await advance(c, job)
    except LostLease:
        raise  # another instance leads now: nothing more is saved, the worker stops leading
    except CredentialsRefused as exc:
        PROVIDER_FAILURES.labels(c.provider.name, "credentials").inc()
        await _retry_credentials(c, job.job_id, exc)
    except ProviderUnavailable as exc:
        PROVIDER_FAILURES.labels(c.provider.name, "retried").inc()
        await _retry_later(c, job.job_id, str(exc), exc.retry_after_s)
    except ProviderRejected as exc:
        PROVIDER_FAILURES.labels(c.provider.name, "refused").inc()
        await _fail(c, job.job_id, exc.as_job_error())
    except DatasetFileError as exc:
        await _fail(c, job.job_id, JobError(code="dataset_file", message=str(exc)))
    except Exception as exc:
        if is_infrastructure_error(exc):
            raise
        log.exception("unexpected error advancing a job; will retry", job_id=job.job_id)
        await _retry_later(c, job.job_id, f"{type(exc).__name__}: {exc}", None)


async def advance(c: JobContext, job: Job) -> None:
    for _ in range(MAX_STEPS_PER_TICK):
        if job.finished:
            return
        if job.cancel_requested and not job.cancel_sent:
            await cancel_job(c, job)
            return
        if job.next_check_at > c.now():
            return
        phase = job.phase
        await STEPS[phase](c, job)
        if job.phase is phase:
            return  # no progress: wait for the job's next check


async def _retry_later(c: JobContext, job_id: str, reason: str, retry_after_s: float | None) -> None:
    job = await c.reload(job_id)
    delay = job.schedule_retry(c.now(), c.settings.retry_base_s, c.settings.retry_max_s, retry_after_s)
    await c.commit(job)
    log.warning("provider call failed; retrying later", job_id=job_id, phase=job.phase.value,
                attempt=job.failures, retry_in_s=round(delay, 3), error=reason)


async def _retry_credentials(c: JobContext, job_id: str, exc: CredentialsRefused) -> None:
    """Retry refused credentials with the usual backoff, ``credential_retries`` attempts in a row
    at most; then the job fails in one line instead of waiting for ever for a renewed token."""
    job = await c.reload(job_id)
    attempts = job.failures + 1
    if attempts < c.settings.credential_retries:
        await _retry_later(c, job_id, str(exc), exc.retry_after_s)
        return
    message = (f"{exc}; refused {attempts} times in a row: renew the provider's credentials "
               "(the API key or the management token) and start the job again")
    await c.commit(job, job.fail(JobError(code="credentials_refused", message=message), c.now()))


async def _fail(c: JobContext, job_id: str, error: JobError) -> None:
    job = await c.reload(job_id)
    await c.commit(job, job.fail(error, c.now()))


# --- getting a job to the provider: a free slot, the lifecycle guard, uploads, creation --------

async def start_job(c: JobContext, job: Job) -> None:
    """Waiting → uploading once a slot is free and the job passes the budget cap and the
    lifecycle guard (or, refused by the guard with auto_fallback on, to the fallback)."""
    refusal = check_budget(job.estimated_cost_usd, c.settings.max_training_cost_usd)
    if refusal is None:
        async with c.new_uow() as uow:
            active = await c.jobs_in(uow).count_active(c.account)
        if active >= c.job_slots:
            job.next_check_at = c.later(c.settings.worker_interval_s)
            await c.commit(job)
            return
        info = await c.provider.model_lifecycle(job.base_model)
        refusal = check_lifecycle(info, job.base_model, c.policy, c.now().date(), c.provider.label)
        job.base_model_dates = info.published() if info is not None else None
        if refusal is not None and c.falls_back:
            await fall_back(c, job, refusal)
            return
    if refusal is not None:
        log.warning("job refused before any upload", job_id=job.job_id, model=job.base_model, reason=refusal.code,
                    date=str(refusal.day) if refusal.day else None, fallback=c.settings.fallback_model,
                    detail=refusal.message)
        await c.commit(job, job.refuse(refusal, c.now()))
        return
    job.phase = Phase.UPLOADING
    job.next_check_at = c.now()
    await c.commit(job)


async def fall_back(c: JobContext, job: Job, refusal: Refusal) -> None:
    """Hand a job the lifecycle guard refused to the fallback provider, with the fallback model;
    it waits there for a slot and that provider's own guard, and its events say why it moved."""
    assert c.fallback is not None and c.settings.fallback_model is not None
    fallback = c.fallback
    refused_model = job.base_model
    note = job.fall_back(fallback.name, c.settings.fallback_model, refusal, c.now())

    async def move(uow: UnitOfWork) -> None:
        jobs = c.jobs_in(uow)
        await jobs.move(job.job_id, fallback.account)
        await jobs.add_events(job.job_id, [note])

    await c.commit(job, also=move)
    log.warning("the lifecycle guard refused the base model; the job continues on the fallback provider",
                job_id=job.job_id, model=refused_model, reason=refusal.code, fallback_provider=fallback.name,
                fallback_model=job.base_model, detail=refusal.reason)


async def upload_files(c: JobContext, job: Job) -> None:
    """Upload (or reuse) the train and validation files, committing each file id."""
    if job.training_file_id is None:
        job.training_file_id = await _ensure_uploaded(c, job.train, f"{job.dataset_id}-train.jsonl")
        await c.commit(job)
    if job.validation_file_id is None and job.validation.size_bytes > 0:
        job.validation_file_id = await _ensure_uploaded(c, job.validation, f"{job.dataset_id}-validation.jsonl")
        await c.commit(job)
    job.phase = Phase.CREATING
    job.next_check_at = c.now()
    await c.commit(job)


async def _ensure_uploaded(c: JobContext, ref: FileRef, filename: str) -> str:
    async with c.new_uow() as uow:
        known = await c.jobs_in(uow).find_file(c.account, ref.sha256)
    if known is not None:
        existing = await c.provider.get_file(known)
        if existing is not None and existing.state is not FileState.FAILED:
            log.info("reusing an identical uploaded file", file_id=known, filename=filename)
            return known
    path = await asyncio.to_thread(verified_path, ref, c.datasets)
    uploaded = await c.provider.upload_file(path, filename)
    if uploaded.state is FileState.FAILED:
        raise ProviderRejected(uploaded.detail or f"the provider could not process {filename}", code="invalid_file")
    async with c.fenced() as uow:
        await c.jobs_in(uow).remember_file(c.account, ref.sha256, uploaded.file_id, filename,
                                           ref.size_bytes, c.now())
        await uow.commit()
    log.info("uploaded a dataset file", file_id=uploaded.file_id, filename=filename, bytes=ref.size_bytes)
    return uploaded.file_id


async def create_job(c: JobContext, job: Job) -> None:
    """Creating → tracking: find the job an earlier attempt made, or create it once."""
    # Files were checked before the first attempt; later attempts only look for its job.
    if job.create_attempts == 0 and not await _files_ready(c, job):
        return
    if await _recover_created(c, job):
        return
    if _create_may_still_appear(c, job):  # the list may not show the last call's job yet
        job.next_check_at = c.later(c.settings.poll_interval_s)
        await c.commit(job)
        return
    request = job.request()
    job.create_attempts += 1
    job.intent_at = job.intent_at or c.now()
    job.attempted_at = c.now()
    await c.commit(job)  # the intent (fenced): from here on a lost answer is looked for, not repeated
    created = await c.provider.create_job(request)
    crash_point(CRASH_AFTER_CREATE)
    await _record_submitted(c, job, created)


async def _recover_created(c: JobContext, job: Job) -> bool:
    """Record the job an earlier create attempt made, if it made one; whether it did."""
    if job.create_attempts == 0 or job.intent_at is None:
        return False
    async with c.new_uow() as uow:
        taken = await c.jobs_in(uow).provider_job_ids(c.account)
    found = await c.provider.find_job(job.request(), job.intent_at, taken)
    if found is None:
        return False
    log.info("found the job an earlier attempt created", job_id=job.job_id, provider_job_id=found.provider_job_id)
    await _record_submitted(c, job, found)
    return True


async def _record_submitted(c: JobContext, job: Job, created: ProviderJob) -> None:
    changes = job.submitted(created, c.now(), needs_deployment=c.provider.needs_deployment)
    job.failures = 0
    job.check_interval_s = c.settings.poll_interval_s
    job.next_check_at = c.later(c.settings.poll_interval_s)
    await c.commit(job, changes)


async def _files_ready(c: JobContext, job: Job) -> bool:
    """Whether the provider has processed both files; fails or re-uploads when it cannot."""
    for attribute in ("training_file_id", "validation_file_id"):
        file_id = getattr(job, attribute)
        if file_id is None:
            continue
        found = await c.provider.get_file(file_id)
        if found is None:  # deleted at the provider since: upload it again
            setattr(job, attribute, None)
            job.phase = Phase.UPLOADING
            job.next_check_at = c.now()
            await c.commit(job)
            return False
        if found.state is FileState.FAILED:
            message = found.detail or f"the provider could not process file {file_id}"
            await c.commit(job, job.fail(JobError(code="invalid_file", message=message), c.now()))
            return False
        if found.state is FileState.PROCESSING:
            job.next_check_at = c.later(min(c.settings.poll_interval_s, 5.0))
            await c.commit(job)
            return False
    return True


# --- following a job until it ends; deploying it where it must be; cancelling -----------------

async def track_job(c: JobContext, job: Job) -> None:
    """One poll: the job's state, its new events and checkpoints, and what changed."""
    assert job.provider_job_id is not None
    remote = await c.provider.get_job(job.provider_job_id)
    events = await c.provider.new_events(job.provider_job_id, job.last_event_id)
    checkpoints = await c.provider.checkpoints(job.provider_job_id)
    samples = [e.data for e in events if e.data] + [cp.metrics for cp in checkpoints]
    job.metrics = latest_metrics(job.metrics, samples)
    if events:
        job.last_event_id = events[-1].event_id
    before = (job.status, job.phase)
    changes = job.observe(remote, c.now(), needs_deployment=c.provider.needs_deployment)
    _schedule_poll(c, job, changed=(job.status, job.phase) != before)
    if job.phase is Phase.DEPLOYING:
        job.next_check_at = c.now()  # deploy in this same tick

    async def store_progress(uow: UnitOfWork) -> None:
        jobs = c.jobs_in(uow)
        await jobs.add_events(job.job_id, events)
        await jobs.add_checkpoints(job.job_id, checkpoints)

    await c.commit(job, changes, also=store_progress)
    if job.phase is Phase.DEPLOYING and before[1] is not Phase.DEPLOYING:
        log.info("trained; deploying before announcing success", job_id=job.job_id,
                 fine_tuned_model=job.fine_tuned_model, deployment=_deployment_name(c, job))


async def deploy_job(c: JobContext, job: Job) -> None:
    """Deploying → succeeded once the deployment is provisioned, or failed if it cannot be."""
    assert job.fine_tuned_model is not None
    name = _deployment_name(c, job)
    current = await c.provider.get_deployment(name)
    if current is not None and current.model not in (None, job.fine_tuned_model):
        error = JobError(code="deployment_conflict",
                         message=f"deployment {name} already serves {current.model}; not replacing it")
        await c.commit(job, job.fail(error, c.now()))
        return
    if current is None:
        current = await c.provider.deploy(job.fine_tuned_model, name)
    if current.ready:
        await c.commit(job, job.deployed(name, c.now()))
    elif current.failed:
        reason = current.detail or f"provisioning ended {current.state}"
        what = name if name == job.fine_tuned_model else f"{name} of {job.fine_tuned_model}"
        error = JobError(code="deployment_failed", message=f"deployment {what} failed: {reason}")
        await c.commit(job, job.fail(error, c.now()))
    else:
        _schedule_poll(c, job, changed=False)
        await c.commit(job)


async def cancel_job(c: JobContext, job: Job) -> None:
    """Act on a cancel request in whatever phase the job is."""
    log.info("cancelling fine-tuning job", job_id=job.job_id, phase=job.phase.value, reason=job.cancel_reason)
    if job.phase is Phase.CREATING and _create_may_still_appear(c, job) and job.next_check_at > c.now():
        return  # looked lately: look again at the job's next check
    if job.phase is Phase.CREATING:
        await _recover_created(c, job)  # a lost create answer may have started a job to cancel
    if job.phase is Phase.CREATING and _create_may_still_appear(c, job):
        # Not listed yet, but the last create call may have made a job the list shows later: keep
        # looking (never creating again) and cancel it at the provider once its id is known.
        job.next_check_at = c.later(c.settings.poll_interval_s)
        await c.commit(job)
        log.info("cancel waits to see whether the last create call made a job", job_id=job.job_id)
        return
    if job.phase in (Phase.WAITING, Phase.UPLOADING, Phase.CREATING):
        job.cancel_sent = True
        await c.commit(job, job.move_to(JobStatus.CANCELLED, c.now()))
        return
    job.cancel_sent = True
    if job.phase is Phase.DEPLOYING:
        log.warning("the job has finished training; the cancel request is ignored", job_id=job.job_id)
        await c.commit(job)
        return
    assert job.provider_job_id is not None
    try:
        remote = await c.provider.cancel_job(job.provider_job_id)
    except ProviderRejected as exc:  # e.g. it ended meanwhile: the next poll says how
        log.warning("the provider refused to cancel the job", job_id=job.job_id, error=exc.message)
        job.next_check_at = c.now()
        await c.commit(job)
        return
    await c.commit(job, job.observe(remote, c.now(), needs_deployment=c.provider.needs_deployment))


def _create_may_still_appear(c: JobContext, job: Job) -> bool:
    """Whether the last create call, every SDK retry of it timing out, may not have settled yet."""
    if job.create_attempts == 0 or job.attempted_at is None:
        return False
    settles_s = (c.settings.sdk_max_retries + 1) * c.settings.request_timeout_s + c.settings.poll_interval_s
    return c.now() < job.attempted_at + timedelta(seconds=settles_s)


# --- releasing the deployments of retired models -----------------------------------------------

async def release_deployments(c: JobContext) -> None:
    """Release the deployments of this provider's retired models whose release is due."""
    async with c.new_uow() as uow:
        due = await c.registry_in(uow).undeploy_due(c.provider.name, c.now(), limit=DUE_PER_TICK)
    for model in due:
        await release_deployment(c, model)


async def release_deployment(c: JobContext, model: RegisteredModel) -> None:
    """Unload a retired self-hosted adapter (a provider that keeps its deployments says so);
    an unreachable provider is tried again after a backoff."""
    assert model.deployment_name is not None
    try:
        released = await c.provider.undeploy(model.deployment_name)
    except ProviderUnavailable as exc:
        await _release_later(c, model, str(exc), exc.retry_after_s)
        return
    except ProviderRejected as exc:
        PROVIDER_FAILURES.labels(c.provider.name, "refused").inc()
        log.error("the provider refused to release a retired model's deployment; leaving it",
                  model=model.fine_tuned_model, deployment=model.deployment_name, error=exc.message)
        released = False
    except Exception as exc:
        if is_infrastructure_error(exc):
            raise
        log.exception("unexpected error releasing a deployment; will retry", model=model.fine_tuned_model)
        await _release_later(c, model, f"{type(exc).__name__}: {exc}", None)
        return
    await _save_undeploy(c, model.undeploy_done(c.now(), released=released))
    log.info("retired model's deployment released" if released else "the provider keeps retired models' deployments",
             model=model.fine_tuned_model, deployment=model.deployment_name, provider=c.provider.name)


async def _release_later(c: JobContext, model: RegisteredModel, reason: str, retry_after_s: float | None) -> None:
    PROVIDER_FAILURES.labels(c.provider.name, "retried").inc()
    retry = model.undeploy_failed(c.now(), c.settings.retry_base_s, c.settings.retry_max_s, retry_after_s)
    await _save_undeploy(c, retry)
    log.warning("releasing a retired model's deployment failed; retrying later", model=model.fine_tuned_model,
                deployment=model.deployment_name, attempt=retry.undeploy_failures,
                retry_at=retry.undeploy_due_at.isoformat() if retry.undeploy_due_at else None, error=reason)


async def _save_undeploy(c: JobContext, model: RegisteredModel) -> None:
    async with c.fenced() as uow:
        await c.registry_in(uow).save_undeploy(model)
        await uow.commit()


STEPS: dict[Phase, Callable[[JobContext, Job], Awaitable[None]]] = {
    Phase.WAITING: start_job,
    Phase.UPLOADING: upload_files,
    Phase.CREATING: create_job,
    Phase.TRACKING: track_job,
    Phase.DEPLOYING: deploy_job,
}


def _deployment_name(c: JobContext, job: Job) -> str:
    if c.provider.deploys_under_model_name and job.fine_tuned_model:
        return job.fine_tuned_model
    return deployment_name(c.settings.deployment_prefix, job.dataset_id)


def _schedule_poll(c: JobContext, job: Job, *, changed: bool) -> None:
    job.schedule_poll(c.now(), c.settings.poll_interval_s, c.settings.poll_max_interval_s, changed=changed)


def _log_change(change: FinetuneJobChanged) -> None:
    JOBS_CHANGED.labels(change.provider, change.status.value).inc()
    fields = {"job_id": change.job_id, "status": change.status.value, "provider_job_id": change.provider_job_id,
              "dataset_id": change.dataset_id}
    if change.fine_tuned_model:
        fields["fine_tuned_model"] = change.fine_tuned_model
    if change.deployment_name:
        fields["deployment"] = change.deployment_name
    if change.error is not None:
        log.warning("fine-tuning job changed", **fields, error_code=change.error.code, error=change.error.message)
    else:
        log.info("fine-tuning job changed", **fields)
