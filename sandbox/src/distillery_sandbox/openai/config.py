"""How the OpenAI/Azure sandbox behaves: keys, timings, limits, latency, lifecycle dates."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Protocol

from distillery_sandbox.checks import require_not_negative
from distillery_sandbox.openai.catalogue import ModelInfo, rehearsal_catalogue
from distillery_sandbox.openai.chat_models import TeacherDrift
from distillery_sandbox.openai.faults import Faults
from distillery_sandbox.workload import KnowledgeBase, default_knowledge_base


class Clock(Protocol):
    """Where the sandbox reads the time from (unix seconds, float)."""

    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock tests move by hand; `advance` returns the new time."""

    def __init__(self, start: float = 1_790_000_000.0):
        self.current = start

    def now(self) -> float:
        return self.current

    def advance(self, seconds: float) -> float:
        self.current += seconds
        return self.current


@dataclass(frozen=True)
class JobTimings:
    """Seconds each phase of a fine-tuning job lasts (before `scale`).

    A job spends `validating` checking its files, at least `queued` in the queue (longer
    while the account's running slots are full) and `running` training; Azure files take
    `file_processing` to go from pending to processed. Azure deployments take
    `deployment` to provision. The defaults make a whole job take a few seconds.
    """

    validating: float = 0.6
    queued: float = 0.4
    running: float = 2.5
    file_processing: float = 0.3
    deployment: float = 1.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        require_not_negative(self)

    def of(self, phase: str) -> float:
        return getattr(self, phase) * self.scale


@dataclass(frozen=True)
class LatencyProfile:
    """Median response time per kind of model in milliseconds, times `scale` (0: instant).
    Each response varies around the median (log-normal, `spread`), deterministically."""

    teacher_ms: float = 900.0
    student_ms: float = 350.0
    untuned_ms: float = 400.0
    spread: float = 0.25
    scale: float = 1.0

    def __post_init__(self) -> None:
        require_not_negative(self)

    def median_seconds(self, kind: str) -> float:
        return {"teacher": self.teacher_ms, "student": self.student_ms,
                "untuned": self.untuned_ms}[kind] / 1000.0 * self.scale


@dataclass(frozen=True)
class AzureResource:
    """The one simulated Azure OpenAI resource, as the management plane names it.
    `deployments` are ready from the start (name -> model id), e.g. the teacher's."""

    account: str = "distillery-aoai"
    deployments: dict[str, str] = field(
        default_factory=lambda: {"gpt-4.1": "gpt-4.1", "gpt-4o-mini": "gpt-4o-mini"}
    )
    idle_days: float = 15.0


@dataclass
class SandboxConfig:
    """Everything `create_app` needs. `today` pins the date lifecycle checks use (None:
    the clock's date); `models` defaults to the rehearsal catalogue of that date (the real
    deadlines as far ahead as they were on 2026-12-07; `default_catalogue()` has the real ones); `min_examples_per_intent` is how many training answers of an
    intent a student needs before it answers that intent like the teacher;
    `max_running_jobs` is per flavour ("openai", "azure"); `snapshot_path`, when set,
    keeps the state across restarts."""

    openai_keys: tuple[str, ...] = ("sk-sandbox",)
    azure_keys: tuple[str, ...] = ("azure-sandbox-key",)
    management_tokens: tuple[str, ...] = ("sandbox-arm-token",)
    organization: str = "distillery"
    models: tuple[ModelInfo, ...] = ()
    timings: JobTimings = field(default_factory=JobTimings)
    latency: LatencyProfile = field(default_factory=LatencyProfile)
    max_running_jobs: dict[str, int] = field(default_factory=lambda: {"openai": 3, "azure": 1})
    azure: AzureResource = field(default_factory=AzureResource)
    today: date | None = None
    min_examples_per_intent: int = 20
    faults: Faults = field(default_factory=Faults)
    teacher_drift: TeacherDrift = field(default_factory=TeacherDrift)
    snapshot_path: Path | None = None
    clock: Clock = field(default_factory=SystemClock)
    knowledge_base: KnowledgeBase = field(default_factory=default_knowledge_base)

    def __post_init__(self) -> None:
        if not self.models:
            self.models = rehearsal_catalogue(self.current_date())
        if not self.openai_keys or not self.azure_keys or not self.management_tokens:
            raise ValueError("configure at least one OpenAI key, Azure key and management token")
        if any(limit < 1 for limit in self.max_running_jobs.values()):
            raise ValueError("max_running_jobs must be at least 1 per flavour")
        if self.min_examples_per_intent < 1:
            raise ValueError("min_examples_per_intent must be at least 1")
        missing = {"openai", "azure"} - set(self.max_running_jobs)
        if missing:
            raise ValueError(f"max_running_jobs needs a limit for {sorted(missing)}")

    def current_date(self) -> date:
        if self.today is not None:
            return self.today
        return datetime.fromtimestamp(self.clock.now(), timezone.utc).date()
