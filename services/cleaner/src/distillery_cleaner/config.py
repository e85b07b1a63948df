"""Settings of the cleaner service, from ``DISTILLERY_CLEANER_*`` environment variables.

The cleaning rules themselves (:class:`CleanerConfig`) live in a JSON or TOML file named
by ``DISTILLERY_CLEANER_CONFIG_FILE``; without one the defaults apply. The same file
serves ``distillery clean --config``.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from joblib.externals.loky import cpu_count
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from distillery_cleaner.domain.config import CleanerConfig
from distillery_contracts.registry import DAY_MS, TRACES_RAW, get_topic
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.errors import ConfigError

ENV_PREFIX = "DISTILLERY_CLEANER_"
TRACES_RAW_RETENTION_DAYS = (get_topic(TRACES_RAW).retention_ms or 0) / DAY_MS
MAX_PII_PROCESSES = 64
AUTO_PII_PROCESSES = 3
"""The most worker processes ``auto`` starts. The service's own work per generation (decoding,
screening, the database, the broker: ~0.5 ms) is about a third of what the model needs (~1.5 ms
for a generation's new texts), so one core of its own keeps about three workers busy; beyond
that, more cleaner instances are what help."""


def pii_process_count(setting: int | Literal["auto"], ner: bool, cpus: int) -> int:
    """The personal-data worker processes to start: the number set, or for ``auto`` one per core
    of ``cpus`` up to AUTO_PII_PROCESSES, with NER on and at least two cores (none otherwise)."""
    if setting != "auto":
        return setting
    return min(cpus, AUTO_PII_PROCESSES) if ner and cpus >= 2 else 0


def parse_pii_processes(value: object) -> int | Literal["auto"]:
    """A worker count as set in the environment or on a command line: a number or ``auto``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    count = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    if type(count) is not int or not 0 <= count <= MAX_PII_PROCESSES:
        raise ValueError(f"a number of worker processes from 0 to {MAX_PII_PROCESSES}, or auto")
    return count


def pii_workers(setting: int | Literal["auto"], ner: bool) -> int:
    """The personal-data worker processes to start on the cores this process may use (its
    affinity and its container's CPU limit, as joblib counts them)."""
    return pii_process_count(setting, ner, cpu_count())


class CleanerSettings(BaseSettings):
    """Where the cleaning rules are and how the service consumes."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    config_file: Path | None = Field(
        default=None, description="JSON or TOML file with the cleaning rules; defaults when unset."
    )
    consumer_group: str | None = Field(
        default=None,
        description="Consumer group on traces.raw. Default: one group per cleaner version and "
        "configuration, so a new version starts from the beginning of traces.raw and produces a "
        "complete second version of the examples.",
    )
    batch_size: int | None = Field(
        default=None, ge=1, le=10_000, description="Records per batch (default: DISTILLERY_CONSUMER_BATCH_SIZE)."
    )
    pii_ner: bool | None = Field(
        default=None,
        description="Overrides the rules' pii.ner: false finds names only where the caller introduces "
        "them, without spaCy's named-entity model (its costliest part); part of the configuration hash.",
    )
    pii_processes: Annotated[int, Field(ge=0, le=MAX_PII_PROCESSES)] | Literal["auto"] = Field(
        default="auto",
        description="Worker processes that find personal data beside the service, each with its own copy "
        "of the named-entity model (~250 MiB each): a cleaner process otherwise uses one core, as the "
        "model holds Python's interpreter lock. 0: in the service's own process. auto: with NER on, one "
        f"per core the service may use (its affinity and container CPU limit), at most {AUTO_PII_PROCESSES}, "
        "and none on one core or with NER off, where the patterns alone are cheaper than the trip.",
    )
    late_score_retention_days: float = Field(
        default=TRACES_RAW_RETENTION_DAYS, gt=0,
        description="Days a late score is kept after it last changed. It rejects its generation when the "
        "generation is screened after it (a replay, a new cleaner version reading traces.raw from the "
        "start), so by default it is kept as long as traces.raw keeps generations; after that a replay "
        "reads the score again after its generation and retracts it.",
    )
    index_retention_days: float = Field(
        default=120.0, gt=TRACES_RAW_RETENTION_DAYS,
        description="Days an accepted example stays in the near-duplicate index (its ids, content hash and "
        "MinHash signature: no words) after it was accepted, in every cleaner version's index. A later "
        "near-duplicate of an older example is accepted again, as the dataset-builder keeps examples "
        "120 days by default too (DISTILLERY_DATASET_EXAMPLE_RETENTION_DAYS); it must outlast traces.raw's "
        "retention, so a replay never meets a generation whose index row is gone.",
    )

    @field_validator("pii_processes", mode="before")
    @classmethod
    def _a_count_or_auto(cls, value: object) -> int | Literal["auto"]:
        """One reason for a bad value, not one per member of the union."""
        return parse_pii_processes(value)

    def pii_workers(self, config: CleanerConfig) -> int:
        """The personal-data worker processes for ``config`` on the cores this process may use."""
        return pii_workers(self.pii_processes, config.pii.ner)

    def cleaner_config(self) -> CleanerConfig:
        """The rules of ``config_file`` (or the defaults), with this environment's overrides."""
        config = load_cleaner_config(self.config_file)
        if self.pii_ner is None or self.pii_ner == config.pii.ner:
            return config
        rules = config.model_dump()
        rules["pii"]["ner"] = self.pii_ner
        return CleanerConfig.model_validate(rules)


def load_cleaner_settings() -> CleanerSettings:
    return load_settings(CleanerSettings)


def load_cleaner_config(path: Path | None) -> CleanerConfig:
    """The configuration in ``path`` (JSON or TOML), or the defaults; ConfigError says what is wrong."""
    if path is None:
        return CleanerConfig()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the cleaner configuration {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise ConfigError(f"the cleaner configuration {path} is not valid {kind}: {exc}") from None
    try:
        return CleanerConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'configuration'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"invalid cleaner configuration in {path}: {problems}") from None
