"""In-memory stores for unit tests; they keep copies, as a database would."""

from __future__ import annotations

import copy
from datetime import datetime

from distillery_contracts.finetune import JobStatus
from distillery_finetune_controller.adapters.repository import AbstractJobRepository
from distillery_finetune_controller.domain.job import ACTIVE_PHASES, Job, Phase
from distillery_finetune_controller.domain.provider_types import ProviderCheckpoint, ProviderEvent


class FakeJobRepository(AbstractJobRepository):
    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.accounts: dict[str, str] = {}
        self.files: dict[tuple[str, str], str] = {}
        self.history_rows: dict[str, list[tuple[JobStatus, datetime]]] = {}
        self.event_rows: dict[str, dict[str, ProviderEvent]] = {}
        self.checkpoint_rows: dict[str, dict[str, ProviderCheckpoint]] = {}

    async def add(self, job: Job, account: str) -> bool:
        if job.job_id in self.jobs:
            return False
        self.jobs[job.job_id] = copy.deepcopy(job)
        self.accounts[job.job_id] = account
        return True

    async def get(self, job_id: str) -> Job | None:
        return copy.deepcopy(self.jobs.get(job_id))

    async def save(self, job: Job) -> None:
        stored = self.jobs[job.job_id]
        saved = copy.deepcopy(job)
        saved.cancel_requested, saved.cancel_reason = stored.cancel_requested, stored.cancel_reason
        self.jobs[job.job_id] = saved

    async def request_cancel(self, job_id: str, reason: str | None) -> None:
        self.jobs[job_id].cancel_requested = True
        self.jobs[job_id].cancel_reason = reason

    async def due(self, account: str, now: datetime, limit: int = 100) -> list[Job]:
        found = [j for j in self.jobs.values() if self.accounts[j.job_id] == account
                 and j.phase is not Phase.DONE
                 and (j.next_check_at <= now or (j.cancel_requested and not j.cancel_sent))]
        return [copy.deepcopy(j) for j in sorted(found, key=lambda j: (j.created_at, j.job_id))[:limit]]

    async def resume_all(self, account: str, now: datetime) -> int:
        unfinished = [j for j in self.jobs.values() if self.accounts[j.job_id] == account and j.phase is not Phase.DONE]
        for job in unfinished:
            job.next_check_at = now
        return len(unfinished)

    async def count_active(self, account: str) -> int:
        return sum(1 for j in self.jobs.values() if self.accounts[j.job_id] == account and j.phase in ACTIVE_PHASES)

    async def provider_job_ids(self, account: str) -> set[str]:
        return {j.provider_job_id for j in self.jobs.values()
                if self.accounts[j.job_id] == account and j.provider_job_id}

    async def find_file(self, account: str, sha256: str) -> str | None:
        return self.files.get((account, sha256))

    async def remember_file(self, account: str, sha256: str, file_id: str, filename: str,
                            size_bytes: int, at: datetime) -> None:
        self.files[(account, sha256)] = file_id

    async def record_status(self, job_id: str, status: JobStatus, at: datetime) -> None:
        rows = self.history_rows.setdefault(job_id, [])
        if status not in [s for s, _ in rows]:
            rows.append((status, at))

    async def add_events(self, job_id: str, events: list[ProviderEvent]) -> int:
        stored = self.event_rows.setdefault(job_id, {})
        new = [e for e in events if e.event_id not in stored]
        stored.update({e.event_id: e for e in new})
        return len(new)

    async def add_checkpoints(self, job_id: str, checkpoints: list[ProviderCheckpoint]) -> int:
        stored = self.checkpoint_rows.setdefault(job_id, {})
        new = [c for c in checkpoints if c.checkpoint_id not in stored]
        stored.update({c.checkpoint_id: c for c in new})
        return len(new)

    async def list_jobs(self, limit: int = 50) -> list[Job]:
        ordered = sorted(self.jobs.values(), key=lambda j: (j.created_at, j.job_id), reverse=True)
        return [copy.deepcopy(j) for j in ordered[:limit]]

    async def history(self, job_id: str) -> list[tuple[JobStatus, datetime]]:
        return list(self.history_rows.get(job_id, []))

    async def events(self, job_id: str) -> list[ProviderEvent]:
        return sorted(self.event_rows.get(job_id, {}).values(), key=lambda e: (e.created_at, e.event_id))

    async def checkpoints(self, job_id: str) -> list[ProviderCheckpoint]:
        return sorted(self.checkpoint_rows.get(job_id, {}).values(), key=lambda c: c.step)
