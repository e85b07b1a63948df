"""Settings of the trainer, from ``DISTILLERY_TRAINER_*`` environment variables.

Training defaults suit a 0.5B-8B instruct model on one GPU; a job's own hyperparameters
(OpenAI's ``n_epochs``, ``batch_size``, ``learning_rate_multiplier``) adjust them, and the
settings a job ran with are recorded in the job and in its adapter's model card.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from distillery_runtime.settings import BlobStoreSettings
from distillery_trainer.domain.hyperparameters import TrainingDefaults

ENV_PREFIX = "DISTILLERY_TRAINER_"


class TrainerSettings(BlobStoreSettings):
    """Where the trainer keeps files and adapters, which base models it offers, how it trains."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True,
                                      env_nested_delimiter="__")

    api_key: SecretStr | None = Field(
        default=None, description="Bearer key every API call must carry (None: no key asked for).")
    base_models: dict[str, str] = Field(
        default_factory=dict,
        description="Base models offered besides the shipped ones, name → local checkpoint directory; JSON, "
        'e.g. {"qwen2.5-1.5b": "/models/Qwen2.5-1.5B-Instruct"}.')
    blob_root: Path | None = Field(
        default=None, description="Local blob store (or S3 staging) directory of uploaded files and published "
        "adapters (default: <DISTILLERY_HOME>/trainer).")
    s3_prefix: str = Field(default="trainer", description="Key prefix of the trainer's files in the bucket.")
    work_dir: Path | None = Field(
        default=None, description="Training work and checkpoints (default: <DISTILLERY_HOME>/trainer-work); "
        "shared between hosts, a job killed on one resumes from its checkpoint on another.")
    model_cache: Path | None = Field(
        default=None, description="Where shipped base models are converted once (default: <DISTILLERY_HOME>/models).")
    defaults: TrainingDefaults = Field(
        default_factory=TrainingDefaults,
        description="Training defaults as one JSON object, or one DEFAULTS__<NAME> variable each "
        "(lora_rank, lora_alpha, target_modules, epochs, learning_rate, batch_size, micro_batch_size, "
        "max_length, seed, checkpoint_every).")
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1, description="Largest training file accepted.")
    max_attempts: int = Field(
        default=3, ge=1, description="Runs of one job ended by an unexpected error before it fails for good.")
    worker_interval_s: float = Field(default=2.0, gt=0, description="How often an idle trainer looks for jobs.")
    progress_flush_s: float = Field(
        default=1.0, gt=0, description="How often progress is written and a cancel request looked for.")

    def blob_dir(self, home: Path) -> Path:
        return self.blob_root or home / "trainer"

    def work_root(self, home: Path) -> Path:
        return self.work_dir or home / "trainer-work"
