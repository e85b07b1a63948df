"""A controller world made of fakes: provider, stores, unit of work and a clock tests move.

This folder is on ``sys.path`` so that tests import the store contract suites
(finetune_store_contracts.py) and shared names (finetune_support.py) by name, as the integration
suite does.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.finetune import FinetuneJobChanged, JobStatus
from distillery_contracts.registry import DATASETS_BUILT, ROLLOUT_DECISIONS
from distillery_contracts.rollout import RolloutDecision
from distillery_contracts.samples import sample_dataset_built, sample_rollout_decided
from distillery_finetune_controller.adapters.fakes import FakeFineTuneProvider, FakeJobStore, FakeModelStore
from distillery_finetune_controller.config import FinetuneSettings
from distillery_finetune_controller.domain.job import Job
from distillery_finetune_controller.domain.status import AZURE_STATUSES
from distillery_finetune_controller.handlers import Handlers
from distillery_finetune_controller.services import JobContext, tick
from distillery_runtime.blobstore import LocalBlobStore
from distillery_runtime.clock import FakeClock
from distillery_runtime.consumer import delivery_of
from distillery_runtime.uow import FakeUnitOfWork

sys.path.insert(0, str(Path(__file__).parent))

from finetune_support import BASE, OPEN_BASE, SELFHOSTED, TODAY  # noqa: E402


@dataclass
class World:
    """Everything a worker test touches; ``run`` ticks the worker the way the service would."""

    tmp: Path
    provider: FakeFineTuneProvider
    settings: FinetuneSettings
    clock: FakeClock = field(default_factory=lambda: FakeClock(TODAY))
    jobs: FakeJobStore = field(default_factory=FakeJobStore)
    registry: FakeModelStore = field(default_factory=FakeModelStore)
    uow: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    fallback: FakeFineTuneProvider | None = None

    def __post_init__(self) -> None:
        self.provider.account = self.settings.provider_account  # as the real providers' from_settings do
        if self.fallback is not None and self.settings.fallback_provider is not None:
            self.fallback.account = self.settings.account_of(self.settings.fallback_provider)

    @property
    def context(self) -> JobContext:
        return JobContext(primary=self.provider, fallback=self.fallback, settings=self.settings,
                          jobs_in=lambda _: self.jobs, registry_in=lambda _: self.registry, now=self.clock,
                          new_uow=lambda: self.uow, datasets=LocalBlobStore(self.tmp))

    @property
    def handlers(self) -> Handlers:
        return Handlers(self.settings, jobs_in=lambda _: self.jobs, registry_in=lambda _: self.registry,
                        now=self.clock)

    def dataset(self, dataset_id: str = "ds-0001", lines: int = 12, *, validation_lines: int = 3,
                base_model: str = BASE, content_seed: str | None = None, **overrides: Any) -> DatasetBuilt:
        """A DatasetBuilt whose train and validation files really exist, with their hashes."""
        folder = self.tmp / dataset_id
        folder.mkdir(parents=True, exist_ok=True)
        seed = content_seed or dataset_id
        files = {"train": _write(folder / "train.jsonl", lines, seed),
                 "validation": _write(folder / "validation.jsonl", validation_lines, seed + "-val"),
                 "manifest": _write(folder / "manifest.json", 1, seed + "-manifest")}
        return sample_dataset_built(dataset_id=dataset_id, cycle_id=f"cycle-{dataset_id}", base_model=base_model,
                                    files=files, epochs=2, **overrides)

    async def deliver(self, dataset: DatasetBuilt) -> None:
        delivery = delivery_of(dataset, topic=DATASETS_BUILT, producer="dataset-builder/0.1.0",
                               correlation_id=dataset.cycle_id)
        async with self.uow:
            await self.handlers.on_dataset_built(self.uow, [delivery])
            await self.uow.commit()

    async def decide(self, kind: RolloutDecision, candidate: str, previous: str | None = None,
                     rollout_id: str = "ro-1") -> None:
        """Deliver the rollout-controller's decision about ``candidate``, taken now."""
        decision = sample_rollout_decided(decision_id=f"{rollout_id}:{kind.value}", rollout_id=rollout_id,
                                          decision=kind, candidate_model=candidate, previous_model=previous,
                                          decided_at=self.clock())
        delivery = delivery_of(decision, topic=ROLLOUT_DECISIONS, producer="rollout-controller/0.1.0")
        async with self.uow:
            await self.handlers.on_rollout_decided(self.uow, [delivery])
            await self.uow.commit()

    async def run(self, ticks: int = 1, step_s: float = 3600.0) -> None:
        """Tick the worker; the clock moves on after each tick so that every job is due."""
        for _ in range(ticks):
            await tick(self.context)
            self.clock.advance(step_s)

    async def job(self, job_id: str = "job-ds-0001") -> Job:
        found = await self.jobs.get(job_id)
        assert found is not None, f"no job {job_id}"
        return found

    def published(self, job_id: str | None = None) -> list[FinetuneJobChanged]:
        events = [FinetuneJobChanged.model_validate_json(m.payload) for m in self.uow.committed]
        return [e for e in events if job_id is None or e.job_id == job_id]

    def statuses(self, job_id: str = "job-ds-0001") -> list[JobStatus]:
        return [e.status for e in self.published(job_id)]

    async def train(self, dataset_id: str = "ds-0001", base_model: str = BASE) -> str:
        """Deliver a dataset and let the provider train it (not yet deployed); the fine-tuned model."""
        await self.deliver(self.dataset(dataset_id, base_model=base_model))
        await self.run()
        pid = self.provider_job(f"job-{dataset_id}")
        self.provider.advance(pid, "running")
        await self.run()
        model = f"ft:{base_model}:distillery:{pid}"
        self.provider.advance(pid, "succeeded", fine_tuned_model=model, trained_tokens=900)
        return model

    def provider_job(self, job_id: str = "job-ds-0001") -> str:
        found = [pid for pid, r in self.provider.requests.items() if r.job_id == job_id]
        assert len(found) == 1, f"expected one provider job for {job_id}, found {found}"
        return found[0]


def _write(path: Path, lines: int, seed: str) -> dict[str, Any]:
    rows = [{"messages": [{"role": "user", "content": f"{seed} question {n}"},
                          {"role": "assistant", "content": f"answer {n}"}]} for n in range(lines)]
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path.write_bytes(data)
    return {"uri": path.as_uri(), "sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}


def settings_for(**overrides: Any) -> FinetuneSettings:
    values: dict[str, Any] = {"openai_api_key": "sk-test", "poll_interval_s": 10, "poll_max_interval_s": 60,
                              "retry_base_s": 5, "retry_max_s": 120, "worker_interval_s": 1}
    return FinetuneSettings(**{**values, **overrides})


@pytest.fixture
def world(tmp_path: Path) -> World:
    provider = FakeFineTuneProvider()
    provider.offer(BASE, shutdown_date=date(2027, 6, 1))
    return World(tmp=tmp_path, provider=provider, settings=settings_for())


@pytest.fixture
def azure_world(tmp_path: Path) -> World:
    provider = FakeFineTuneProvider(name="azure", statuses=AZURE_STATUSES, needs_deployment=True, stores_metadata=False,
                            initial_status="pending")
    provider.offer(BASE, shutdown_date=date(2027, 6, 1), fine_tune_until=date(2027, 3, 1))
    settings = settings_for(provider="azure", azure_endpoint="https://aoai.example", azure_api_key="k",
                            azure_management_token="t", azure_subscription_id="s", azure_resource_group="rg",
                            azure_account="acct")
    return World(tmp=tmp_path, provider=provider, settings=settings)


@pytest.fixture
def make_world(tmp_path: Path) -> Callable[..., World]:
    def make(**overrides: Any) -> World:
        provider = FakeFineTuneProvider()
        provider.offer(BASE, shutdown_date=date(2027, 6, 1))
        return World(tmp=tmp_path, provider=provider, settings=settings_for(**overrides))

    return make


@pytest.fixture
def selfhosted_world(tmp_path: Path) -> World:
    provider = FakeFineTuneProvider.selfhosted()
    provider.offer(OPEN_BASE)
    return World(tmp=tmp_path, provider=provider, settings=settings_for(provider="selfhosted", **SELFHOSTED))


@pytest.fixture
def fallback_world(tmp_path: Path) -> Callable[..., World]:
    """OpenAI refuses BASE (it shuts down 29 days from TODAY, inside the 30-day service life);
    the self-hosted fallback trains OPEN_BASE."""
    def make(**overrides: Any) -> World:
        provider = FakeFineTuneProvider()
        provider.offer(BASE, shutdown_date=date(2026, 12, 1))
        fallback = FakeFineTuneProvider.selfhosted()
        fallback.offer(OPEN_BASE)
        settings = settings_for(**{"fallback_provider": "selfhosted", "fallback_model": OPEN_BASE, **SELFHOSTED,
                                   **overrides})
        return World(tmp=tmp_path, provider=provider, settings=settings, fallback=fallback)

    return make
