"""The parameters of one build, fixed when it starts and stored with it.

A build that is rerun after a crash reads them back, so it selects exactly as the first
attempt would have, even if the service's configuration changed in between.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from distillery_contracts.datasets import SelectionParameters
from distillery_dataset_builder.domain.limits import ModelLimits, limits_for
from distillery_dataset_builder.domain.plan import SelectionRules


class BuildParameters(BaseModel):
    """Everything that decides a build's output besides the stored examples."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target_size: int = Field(ge=10)
    base_model: str = Field(min_length=1)
    epochs: int = Field(ge=1)
    pool_factor: float = Field(ge=1.0)
    max_examples_per_session: int | None = Field(default=None, ge=1)
    stratify_by: list[str] = Field(default_factory=list)
    stratify_mode: Literal["proportional", "balanced"] = "proportional"
    validation_fraction: float = Field(gt=0.0, lt=1.0)
    cleaner_version: str | None = None
    """Pinned cleaner version; None: the newest version stored when the build runs."""
    near_duplicate_threshold: float = Field(gt=0.0, le=1.0)
    golden_set: str | None = None
    max_example_tokens: int | None = Field(default=None, ge=1)

    @property
    def pool_size(self) -> int:
        """How many of the newest examples selection draws from."""
        return math.ceil(self.target_size * self.pool_factor)

    def limits(self) -> ModelLimits:
        """The base model's limits, with the per-example token limit overridden if configured."""
        limits = limits_for(self.base_model)
        if self.max_example_tokens is not None:
            limits = replace(limits, max_example_tokens=self.max_example_tokens)
        return limits

    def rules(self, limits: ModelLimits) -> SelectionRules:
        return SelectionRules(
            target_size=self.target_size,
            max_per_session=self.max_examples_per_session,
            stratify_mode=self.stratify_mode,
            validation_fraction=self.validation_fraction,
            near_duplicate_threshold=self.near_duplicate_threshold,
            min_examples=limits.min_examples,
            max_file_bytes=limits.max_file_bytes,
        )

    def selection(self, cleaner_version: str, config_hash: str) -> SelectionParameters:
        """How the manifest and DatasetBuilt describe the selection."""
        return SelectionParameters(
            target_size=self.target_size,
            max_examples_per_session=self.max_examples_per_session,
            stratify_by=list(self.stratify_by),
            validation_fraction=self.validation_fraction,
            cleaner_version=cleaner_version,
            near_duplicate_threshold=self.near_duplicate_threshold,
            extra={
                "cleaner_config_hash": config_hash,
                "cleaner_version_pinned": self.cleaner_version is not None,
                "stratify_mode": self.stratify_mode,
                "candidate_pool_size": self.pool_size,
                "max_example_tokens": self.limits().max_example_tokens,
                "split": "sha256 of session id; earlier validation sessions stay in validation",
            },
        )
