"""The evaluator's configuration: ``DISTILLERY_EVALUATOR_*`` environment variables.

Nested gate thresholds use a double underscore, e.g.
``DISTILLERY_EVALUATOR_GATES__HALLUCINATION_MARGIN=0.01``.

The provider, base URL and key settings are the default endpoint, which serves every model
unless the teacher, the judge or the students of a provider are given endpoints of their own
(``TEACHER_ENDPOINT``, ``JUDGE_ENDPOINT``, ``CANDIDATE_ENDPOINTS``, as JSON), so that a
self-hosted student is judged against a hosted teacher.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from distillery_evaluator.domain.gates import GateConfig

EndpointKind = Literal["openai", "azure"]
AZURE_API_VERSION = "2024-10-21"


class Endpoint(BaseModel):
    """Where chat completions are asked: an OpenAI-compatible API (OpenAI, the sandbox, vLLM,
    ``distillery serve``) or Azure OpenAI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: EndpointKind = Field(default="openai", description="openai (or OpenAI-compatible) or azure.")
    base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL (http://student-server:8000/v1); None: OpenAI.")
    azure_endpoint: str | None = Field(default=None, description="https://<resource>.openai.azure.com")
    api_key: SecretStr | None = Field(
        default=None, description="API key; a server of your own (a base_url) may need none.")
    api_version: str = Field(default=AZURE_API_VERSION, description="Azure api-version.")

    @model_validator(mode="after")
    def _complete(self) -> Endpoint:
        if self.kind == "azure" and not (self.azure_endpoint and self.api_key):
            raise ValueError("an azure endpoint needs azure_endpoint and api_key")
        if self.kind == "openai" and self.azure_endpoint:
            raise ValueError("azure_endpoint is for kind azure; an openai endpoint takes base_url")
        if self.kind == "openai" and not (self.base_url or self.api_key):
            raise ValueError("an openai endpoint needs api_key, or the base_url of a server of your own")
        return self


class EvaluatorSettings(BaseSettings):
    """Endpoints, eval sets, run limits, gates and online sampling."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_EVALUATOR_", extra="ignore",
                                      env_ignore_empty=True, env_nested_delimiter="__")

    provider: EndpointKind = Field(
        default="openai", description="Kind of the default endpoint, which serves every model that "
        "has no endpoint of its own below.")
    openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible base URL (the sandbox's /v1); None: OpenAI.")
    openai_api_key: SecretStr | None = Field(default=None, description="OpenAI API key.")
    azure_endpoint: str | None = Field(default=None, description="https://<resource>.openai.azure.com")
    azure_api_key: SecretStr | None = Field(default=None, description="Azure OpenAI api-key.")
    azure_api_version: str = Field(default=AZURE_API_VERSION, description="Azure api-version.")
    teacher_endpoint: Annotated[Endpoint | None, NoDecode] = Field(
        default=None,
        description='Where the teacher is served, as JSON: {"kind": "openai"|"azure", "base_url" or '
        '"azure_endpoint", "api_key", "api_version"}; None: the default endpoint above.')
    judge_endpoint: Annotated[Endpoint | None, NoDecode] = Field(
        default=None, description="Where the judge is served (JSON, as TEACHER_ENDPOINT); None: the teacher's.")
    candidate_endpoints: Annotated[dict[str, Endpoint], NoDecode] = Field(
        default_factory=dict,
        description="Where the students of each provider are served, by the provider name they were "
        'trained with (JSON), e.g. {"selfhosted": {"kind": "openai", "base_url": '
        '"http://student-server:8000/v1"}}; a student of another provider goes to the default endpoint.')
    teacher_model: str = Field(default="gpt-4.1", description="The teacher every student is compared with.")
    teacher_deployment: str | None = Field(
        default=None, description="Azure deployment serving the teacher (default: its name).")
    judge_enabled: bool = Field(
        default=True, description="Run the LLM judges (pairwise and hallucination).")
    judge_model: str | None = Field(default=None, description="Judge model; None: the teacher.")
    judge_deployment: str | None = Field(default=None, description="Azure deployment of the judge.")
    embedding_enabled: bool = Field(
        default=True, description="Score similarity with the local all-MiniLM-L6-v2 model.")

    golden_source: Literal["file", "langfuse", "none"] = Field(
        default="none",
        description="Where the golden set (prompts with ground truth) comes from: a JSONL file (the demo "
        "writes the simulated clinic's there) or a Langfuse dataset; none: the validation split only.")
    golden_path: Path | None = Field(default=None, description="Golden set JSONL (golden_source=file).")
    golden_dataset: str | None = Field(
        default=None, description="Langfuse dataset name (golden_source=langfuse).")
    golden_limit: int | None = Field(default=None, ge=1, description="Use at most this many golden items.")
    validation_limit: int = Field(
        default=200, ge=0, description="Validation examples per run (a deterministic subset).")

    concurrency: int = Field(default=8, ge=1, le=256, description="Model calls in flight per run.")
    request_timeout_s: float = Field(default=30.0, gt=0, description="Timeout of one model call.")
    attempts: int = Field(default=4, ge=1, le=20, description="Tries per model call.")
    retry_backoff_s: float = Field(default=0.5, ge=0, description="First retry wait; doubles.")
    max_failed_share: float = Field(
        default=0.05, ge=0, le=1,
        description="A model failing more of its prompts than this ends the run as an error.")
    max_tokens: int = Field(default=300, ge=1, description="max_tokens of the models' answers.")
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature of answers.")
    poll_s: float = Field(default=0.5, gt=0, description="How often the workers look for work.")
    lease_s: float = Field(default=120.0, gt=0, description="How long a claimed run stays claimed "
                           "without progress before another instance takes it over.")
    gates: GateConfig = Field(
        default_factory=GateConfig,
        description="Every offline gate threshold as one JSON object, or one GATES__<NAME> variable each.")

    route: str = Field(default="voice-agent", description="Route whose production student is the baseline.")
    online_sample_rate: float = Field(
        default=0.2, ge=0, le=1,
        description="Share of a rollout's calls scored online, for an arm serving half the traffic; "
        "smaller arms are sampled more, larger ones less, so each arm gathers evidence at the same pace.")
    online_batch: int = Field(default=16, ge=1, description="Live calls scored per batch.")
    online_attempts: int = Field(default=5, ge=1, description="Tries to score a live call in full.")
    online_retention_days: float = Field(
        default=7.0, gt=0,
        description="Days a sampled live call stays queued, with its scores, from when it was queued; its "
        "trace holds the caller's words, and the CallScored on evaluations.online is the lasting record. "
        "A call still unscored by then is dropped as well: the stage it was evidence for was decided long ago.")
    run_item_retention_days: float = Field(
        default=180.0, gt=0,
        description="Days a finished run keeps its prompts, answers and per-item scores (run_items, answers, "
        "scores) and the examples its report quotes, from when it finished: validation prompts are callers' "
        "(redacted) words, and carry no session or trace id that erase could find. Its verdict, gates and "
        "metrics stay; nothing reads the items once a run is finished, and a run still in progress keeps them.")

    langfuse_host: str | None = Field(default=None, description="Langfuse base URL; None: no write-back.")
    langfuse_public_key: str | None = Field(default=None, description="Langfuse public key (write-back).")
    langfuse_secret_key: SecretStr | None = Field(default=None, description="Langfuse secret key (write-back).")
    langfuse_environment: str = Field(
        default="evaluation", description="Langfuse environment of the eval traces.")
    reports_dir: Path | None = Field(default=None, description="Default: <DISTILLERY_HOME>/reports.")
    datasets_dir: Path | None = Field(
        default=None, description="The dataset-builder's datasets directory (its DISTILLERY_DATASET_DATASETS_DIR); "
        "a validation file named anywhere else is refused. Default <DISTILLERY_HOME>/datasets.")

    @field_validator("teacher_endpoint", "judge_endpoint", "candidate_endpoints", mode="before")
    @classmethod
    def _from_json(cls, value: Any) -> Any:
        # decoded here rather than by pydantic-settings, so bad JSON is a validation error
        # naming its variable (one line), not a traceback
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _endpoint_complete(self) -> EvaluatorSettings:
        if self.provider == "azure" and not self.azure_endpoint:
            raise ValueError("provider azure needs DISTILLERY_EVALUATOR_AZURE_ENDPOINT")
        if self.golden_source == "file" and self.golden_path is None:
            raise ValueError("golden_source file needs DISTILLERY_EVALUATOR_GOLDEN_PATH")
        if self.golden_source == "langfuse" and not (self.golden_dataset and self.langfuse_host):
            raise ValueError("golden_source langfuse needs DISTILLERY_EVALUATOR_GOLDEN_DATASET "
                             "and DISTILLERY_EVALUATOR_LANGFUSE_HOST")
        return self

    @property
    def default_endpoint(self) -> Endpoint | None:
        """The endpoint the provider settings describe; None without its API key, which it
        always needs (OpenAI, Azure and the sandbox all ask for one)."""
        key = self.azure_api_key if self.provider == "azure" else self.openai_api_key
        if key is None:
            return None
        if self.provider == "azure":
            return Endpoint(kind="azure", azure_endpoint=self.azure_endpoint, api_key=key,
                            api_version=self.azure_api_version)
        return Endpoint(base_url=self.openai_base_url, api_key=key)

    @property
    def default_key_variable(self) -> str:
        return f"DISTILLERY_EVALUATOR_{self.provider.upper()}_API_KEY"

    @property
    def langfuse_configured(self) -> bool:
        return bool(self.langfuse_host and self.langfuse_public_key and self.langfuse_secret_key)


def load_config() -> EvaluatorSettings:
    """The settings from the environment; bad values become one ConfigError line."""
    from distillery_runtime.entrypoint import load_settings

    return load_settings(EvaluatorSettings)
