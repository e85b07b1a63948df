"""Settings of the trace-ingester, from ``DISTILLERY_INGESTER_*`` environment variables.

Langfuse projects come either as a JSON list in ``DISTILLERY_INGESTER_PROJECTS``::

    [{"project_id": "clinic", "host": "https://cloud.langfuse.com",
      "public_key": "pk-lf-...", "secret_key": "sk-lf-..."}]

or, for the usual single project, from ``DISTILLERY_LANGFUSE_HOST``,
``DISTILLERY_LANGFUSE_PUBLIC_KEY`` and ``DISTILLERY_LANGFUSE_SECRET_KEY`` (what
docker-compose.yml passes), named by ``DISTILLERY_LANGFUSE_PROJECT_ID``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import AliasChoices, AwareDatetime, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from distillery_runtime.errors import ConfigError
from distillery_trace_ingester.domain.windows import Pacing

NAME = "trace-ingester"
SCHEMA = "trace_ingester"
"""The PostgreSQL schema of the ingester's tables, its inbox and its outbox."""
MIGRATIONS = Path(__file__).parent / "migrations"

PROJECTS_ENV = "DISTILLERY_INGESTER_PROJECTS"


class LangfuseProject(BaseModel):
    """One Langfuse project to capture, and the key pair that reads it."""

    project_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                            description="Our name for the project; events and watermarks carry it.")
    host: str = Field(description="Langfuse base URL, e.g. https://cloud.langfuse.com.")
    public_key: str = Field(min_length=1, description="Langfuse public key (pk-lf-...).")
    secret_key: SecretStr = Field(description="Langfuse secret key (sk-lf-...).")

    @field_validator("host")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("host must start with http:// or https://")
        return value


class IngesterSettings(BaseSettings):
    """How the ingester reads Langfuse and how it paces its polls."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_INGESTER_", extra="ignore",
                                      env_ignore_empty=True, populate_by_name=True)

    projects: list[LangfuseProject] = Field(
        default_factory=list, description='Projects to capture, a JSON list of {"project_id", "host", '
        '"public_key", "secret_key"}; replaces the single DISTILLERY_LANGFUSE_* project.')
    langfuse_host: str | None = Field(default=None, validation_alias=AliasChoices("DISTILLERY_LANGFUSE_HOST"),
                                      description="Langfuse base URL of the single project.")
    langfuse_public_key: str | None = Field(
        default=None, validation_alias=AliasChoices("DISTILLERY_LANGFUSE_PUBLIC_KEY"),
        description="Public key (pk-lf-...) of the single project.")
    langfuse_secret_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISTILLERY_LANGFUSE_SECRET_KEY"),
        description="Secret key (sk-lf-...) of the single project.")
    langfuse_project_id: str = Field(default="default",
                                     validation_alias=AliasChoices("DISTILLERY_LANGFUSE_PROJECT_ID"),
                                     description="Our name for the single project; events and watermarks carry it.")

    poll_interval_s: float = Field(default=15.0, gt=0, description="Pause between polls once caught up.")
    overlap_s: float = Field(default=600.0, ge=0,
                             description="How far back each poll re-reads: Langfuse's ingestion lag.")
    settle_delay_s: float = Field(default=30.0, ge=0, description="Read only up to now minus this.")
    max_window_s: float = Field(default=900.0, gt=0,
                                description="Largest time range read at once while catching up.")
    score_lookahead_s: float = Field(default=1800.0, ge=0,
                                     description="Scores read past a window's end while catching up.")
    start_from: AwareDatetime | None = Field(
        default=None, description="Where a project without a watermark starts; default now - lookback.")
    initial_lookback_s: float = Field(
        default=86400.0, ge=0, description="How far back a project without a watermark starts (no START_FROM).")
    page_size: int = Field(default=1000, ge=1, le=1000, description="Observations per request.")
    score_page_size: int = Field(default=100, ge=1, le=100, description="Scores per request.")
    chunk_size: int = Field(default=500, ge=1, le=5000, description="Generations per transaction.")
    exclude_environments: str = Field(
        default="evaluation", description="Comma-separated Langfuse environments never captured "
                                          "(the evaluator records its own calls under 'evaluation').")
    expand_metadata_keys: str = Field(
        default="", description="Comma-separated metadata keys Langfuse must not truncate.")
    retention_days: float = Field(
        default=90.0, ge=0, description="How long to remember what was published (0: forever); a "
        "backfill reaching further back publishes those generations again, under the same event ids.")
    request_timeout_s: float = Field(default=30.0, gt=0, description="Timeout of one Langfuse request.")
    max_attempts: int = Field(default=8, ge=1, le=100, description="Tries per Langfuse request.")
    max_retry_after_s: float = Field(default=300.0, gt=0, description="Longest Retry-After honoured.")

    def resolved_projects(self) -> list[LangfuseProject]:
        """The projects to capture; ConfigError says what to set when none or both are given."""
        shorthand = [self.langfuse_host, self.langfuse_public_key, self.langfuse_secret_key]
        if self.projects:
            ids = [p.project_id for p in self.projects]
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ConfigError(f"{PROJECTS_ENV} names project(s) {', '.join(duplicates)} twice")
            return list(self.projects)
        if not any(shorthand):
            raise ConfigError(
                f"no Langfuse project configured: set {PROJECTS_ENV} to a JSON list of "
                '{"project_id", "host", "public_key", "secret_key"} or set DISTILLERY_LANGFUSE_HOST, '
                "DISTILLERY_LANGFUSE_PUBLIC_KEY and DISTILLERY_LANGFUSE_SECRET_KEY")
        names = ["DISTILLERY_LANGFUSE_HOST", "DISTILLERY_LANGFUSE_PUBLIC_KEY",
                 "DISTILLERY_LANGFUSE_SECRET_KEY"]
        missing = [n for n, v in zip(names, shorthand, strict=True) if not v]
        if missing:
            raise ConfigError(f"incomplete Langfuse settings: also set {', '.join(missing)}")
        try:
            return [LangfuseProject(project_id=self.langfuse_project_id, host=self.langfuse_host,
                                    public_key=self.langfuse_public_key,
                                    secret_key=self.langfuse_secret_key)]
        except ValueError as exc:
            raise ConfigError(f"invalid Langfuse settings: {exc.errors()[0]['msg']}") from None

    def project_ids(self) -> list[str]:
        """Configured project ids, or an empty list when none are configured (CLI use)."""
        try:
            return [p.project_id for p in self.resolved_projects()]
        except ConfigError:
            return []

    @property
    def pacing(self) -> Pacing:
        return Pacing(overlap=timedelta(seconds=self.overlap_s),
                      settle_delay=timedelta(seconds=self.settle_delay_s),
                      max_span=timedelta(seconds=self.max_window_s),
                      poll_interval=timedelta(seconds=self.poll_interval_s))

    @property
    def expand_metadata(self) -> list[str]:
        return [k.strip() for k in self.expand_metadata_keys.split(",") if k.strip()]

    def excluded_environment_list(self) -> list[str]:
        return [e.strip() for e in self.exclude_environments.split(",") if e.strip()]

    def initial_watermark(self, now: datetime | None = None) -> datetime:
        """Where capture starts for a project that has never been read."""
        if self.start_from is not None:
            return self.start_from.astimezone(UTC)
        return (now or datetime.now(UTC)) - timedelta(seconds=self.initial_lookback_s)
