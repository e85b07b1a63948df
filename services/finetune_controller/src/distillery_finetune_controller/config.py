"""Settings of the finetune-controller, from ``DISTILLERY_FINETUNE_*`` environment variables.

Loaded with ``distillery_runtime.entrypoint.load_settings`` (a bad value is one line naming
its variable); :meth:`FinetuneSettings.check` then names what the chosen provider lacks.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from distillery_finetune_controller.domain.job import JobDefaults
from distillery_finetune_controller.domain.lifecycle import LifecyclePolicy
from distillery_runtime.blobstore import AbstractBlobStore, LocalBlobStore
from distillery_runtime.errors import ConfigError
from distillery_runtime.model_calendar import DEFAULT_MIN_SERVICE_LIFE_DAYS, CalendarEntry, default_calendar

ENV_PREFIX = "DISTILLERY_FINETUNE_"


class ProviderKind(StrEnum):
    OPENAI = "openai"
    AZURE = "azure"
    SELFHOSTED = "selfhosted"


DEFAULT_MAX_JOBS = {ProviderKind.OPENAI: 3, ProviderKind.AZURE: 1, ProviderKind.SELFHOSTED: 1}
"""Azure runs one fine-tuning job per resource at a time by default; the self-hosted trainer
trains on one GPU host, one job at a time."""

NEEDED_SETTINGS = {
    ProviderKind.OPENAI: ["openai_api_key"],
    ProviderKind.AZURE: ["azure_endpoint", "azure_api_key", "azure_management_token", "azure_subscription_id",
                         "azure_resource_group", "azure_account"],
    ProviderKind.SELFHOSTED: ["selfhosted_trainer_url", "selfhosted_serving_url", "selfhosted_adapter_root"],
}


class FinetuneSettings(BaseSettings):
    """Provider, job parameters, lifecycle guard and timings of the finetune-controller."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    provider: ProviderKind = Field(default=ProviderKind.OPENAI, description="openai, azure or selfhosted.")
    openai_base_url: str = Field(default="https://api.openai.com/v1", description="OpenAI API base URL.")
    openai_api_key: SecretStr | None = Field(default=None, description="OpenAI API key.")
    openai_organization: str | None = Field(default=None, description="OpenAI organization id.")
    azure_endpoint: str | None = Field(default=None, description="https://<resource>.openai.azure.com")
    azure_api_key: SecretStr | None = Field(default=None, description="Azure OpenAI api-key.")
    azure_api_version: str = Field(default="2024-10-21", description="Data-plane api-version.")
    azure_management_url: str = Field(default="https://management.azure.com",
                                      description="Azure Resource Manager base URL (model deployments).")
    azure_management_token: SecretStr | None = Field(
        default=None, description="Bearer token for the management plane (deployments).")
    azure_management_api_version: str = Field(default="2024-10-01", description="Management-plane api-version.")
    azure_subscription_id: str | None = Field(default=None, description="Subscription of the Azure OpenAI account.")
    azure_resource_group: str | None = Field(default=None, description="Resource group of the Azure OpenAI account.")
    azure_account: str | None = Field(default=None, description="The Cognitive Services account name.")
    azure_deployment_sku: str = Field(default="Standard", description="SKU of model deployments.")
    azure_deployment_capacity: int = Field(default=1, ge=1, description="Capacity units of each model deployment.")
    selfhosted_trainer_url: str | None = Field(
        default=None, description="The self-hosted trainer's OpenAI-compatible base URL, e.g. http://trainer:8090/v1.")
    selfhosted_api_key: SecretStr | None = Field(
        default=None, description="Bearer key of the trainer, if it wants one.")
    selfhosted_serving_url: str | None = Field(
        default=None, description="Base URL of the serving engine that loads adapters (vLLM or distillery serve), "
        "e.g. http://student-server:8000/v1.")
    selfhosted_serving_api_key: SecretStr | None = Field(
        default=None, description="Bearer key of the serving engine, if it wants one (vLLM --api-key).")
    selfhosted_adapter_root: str | None = Field(
        default=None, description="Where the serving engine sees published adapters: <root>/<trainer job id>.")
    deployment_prefix: str = Field(default="distillery", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$",
                                   description="Deployments are named <prefix>-<dataset id>.")

    datasets_dir: Path | None = Field(
        default=None, description="The dataset-builder's datasets directory (its DISTILLERY_DATASET_DATASETS_DIR); "
        "a DatasetBuilt naming a file anywhere else is refused. Default <DISTILLERY_HOME>/datasets.")

    base_model: str | None = Field(
        default=None, description="Train this model instead of the one each dataset names.")
    suffix: str | None = Field(default="distillery", pattern=r"^[A-Za-z0-9_-]{1,40}$",
                               description="Added to fine-tuned model names (Azure allows 40 chars).")
    seed: int | None = Field(default=None, description="Seed sent with every job (None: provider's).")
    n_epochs: int | None = Field(default=None, ge=1, le=50, description="None: the dataset's epochs.")
    batch_size: int | None = Field(default=None, ge=1, le=256, description="None: provider's choice.")
    learning_rate_multiplier: float | None = Field(default=None, gt=0, description="None: provider's.")
    max_concurrent_jobs: int | None = Field(
        default=None, ge=1, description="Jobs running at once on the provider's account (None: 3 OpenAI, "
        "1 Azure, 1 self-hosted); a fallback provider runs its default.")

    max_training_cost_usd: float | None = Field(
        default=None, gt=0, description="Refuse a job whose estimated training cost is higher (None: no cap).")
    min_service_life_days: int = Field(
        default=DEFAULT_MIN_SERVICE_LIFE_DAYS, ge=0, description="Refuse a base model that shuts down sooner than this.")
    fallback_model: str | None = Field(
        default=None, description="Named in refusals as the way out; the base model trained on the fallback provider.")
    fallback_provider: ProviderKind | None = Field(
        default=None, description="Where the fallback model is trained, e.g. selfhosted (needs that provider's "
        "settings).")
    auto_fallback: bool = Field(
        default=False, description="A job the lifecycle guard refuses continues on the fallback provider with the "
        "fallback model instead of being refused.")
    allow_preview_models: bool = Field(default=False, description="Fine-tune Azure preview models.")
    calendar: dict[str, CalendarEntry] = Field(
        default_factory=default_calendar,
        description="Lifecycle dates the provider does not publish, by model or provider:model ('*': any "
        "hosted model, 'openai:*': any of one provider's; the most specific applies); JSON. Replaces the "
        "default calendar.")

    worker_interval_s: float = Field(default=2.0, gt=0, description="How often the worker looks for work.")
    poll_interval_s: float = Field(default=30.0, gt=0, description="First delay between polls of a job.")
    poll_max_interval_s: float = Field(default=300.0, gt=0, description="Longest delay between polls.")
    retry_base_s: float = Field(default=5.0, gt=0, description="First delay after a provider failure.")
    retry_max_s: float = Field(default=600.0, gt=0, description="Longest delay after failures.")
    sdk_max_retries: int = Field(default=2, ge=0, le=10, description="The openai SDK's own retries.")
    credential_retries: int = Field(
        default=5, ge=1, le=100, description="Attempts in a row whose credentials the provider refuses (HTTP "
        "401/403, e.g. an expired Azure management token) before the job fails saying so.")
    request_timeout_s: float = Field(default=120.0, gt=0, description="Timeout of one provider request.")
    undeploy_delay_s: float = Field(
        default=60.0, ge=0, description="How long after a model is retired its adapter is unloaded, so that "
        "routers have stopped sending it calls.")

    @property
    def provider_account(self) -> str:
        """Identifies the provider account: files are reused and job slots counted per account."""
        return self.account_of(self.provider)

    def account_of(self, kind: ProviderKind) -> str:
        if kind is ProviderKind.AZURE:
            return f"azure:{(self.azure_endpoint or '').rstrip('/')}"
        if kind is ProviderKind.SELFHOSTED:
            return f"selfhosted:{(self.selfhosted_trainer_url or '').rstrip('/')}"
        return f"openai:{self.openai_base_url.rstrip('/')}:{self.openai_organization or ''}"

    @property
    def job_slots(self) -> int:
        return self.job_slots_of(self.provider)

    def job_slots_of(self, kind: ProviderKind) -> int:
        configured = self.max_concurrent_jobs if kind is self.provider else None
        return configured or DEFAULT_MAX_JOBS[kind]

    def datasets_store(self, home: Path) -> AbstractBlobStore:
        """The only place dataset files are read from (the controller reads file:// URIs only)."""
        return LocalBlobStore(self.datasets_dir or Path(home) / "datasets")

    def job_defaults(self) -> JobDefaults:
        return JobDefaults(provider=self.provider.value, base_model=self.base_model, suffix=self.suffix,
                           seed=self.seed, n_epochs=self.n_epochs, batch_size=self.batch_size,
                           learning_rate_multiplier=self.learning_rate_multiplier)

    def lifecycle_policy(self, kind: ProviderKind | None = None) -> LifecyclePolicy:
        """The guard for jobs of ``kind`` (the configured provider when None)."""
        kind = kind or self.provider
        return LifecyclePolicy(
            min_service_life_days=self.min_service_life_days, calendar=self.calendar, provider=kind.value,
            fallback_model=self.fallback_model,
            allow_preview=self.allow_preview_models,
            fallback_provider=self.fallback_provider.value if self.fallback_provider else None,
            auto_fallback=self.auto_fallback,
            guards_fallback=kind is self.fallback_provider and kind is not self.provider,
        )

    def check(self) -> None:
        """Raise ConfigError naming every setting the chosen provider (and the fallback) still needs."""
        self._check_provider(self.provider, f"the {self.provider} provider")
        if self.fallback_provider is not None:
            if self.fallback_provider is self.provider:
                raise ConfigError(f"{ENV_PREFIX}FALLBACK_PROVIDER must differ from {ENV_PREFIX}PROVIDER "
                                  f"({self.provider})")
            if self.fallback_model is None:
                raise ConfigError(f"the fallback provider {self.fallback_provider} needs {ENV_PREFIX}FALLBACK_MODEL, "
                                  "the base model to train there")
            self._check_provider(self.fallback_provider, f"the fallback provider {self.fallback_provider}")
        elif self.auto_fallback:
            raise ConfigError(f"{ENV_PREFIX}AUTO_FALLBACK needs {ENV_PREFIX}FALLBACK_PROVIDER (e.g. selfhosted) "
                              f"and {ENV_PREFIX}FALLBACK_MODEL")
        if self.poll_max_interval_s < self.poll_interval_s:
            raise ConfigError(f"{ENV_PREFIX}POLL_MAX_INTERVAL_S must not be below {ENV_PREFIX}POLL_INTERVAL_S")

    def _check_provider(self, kind: ProviderKind, what: str) -> None:
        missing = [ENV_PREFIX + name.upper() for name in NEEDED_SETTINGS[kind] if getattr(self, name) is None]
        if missing:
            raise ConfigError(f"{what} needs {', '.join(missing)}")

