"""What the cleaner shows about itself: the configuration an instance runs under.

The cleaner keeps no state a reader needs beyond that (its verdicts are events, read
from the dataset-builder), so its views are the ``/config`` route's answer and how well its
PII detection does on the labelled utterances it ships (``distillery privacy eval``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from distillery_cleaner.domain.screen import Cleaner
from distillery_cleaner.pii_evaluation import (  # noqa: F401  (the targets are part of this view)
    PRECISION_TARGET,
    RECALL_TARGETS,
    STAYS_TARGET,
    SURVIVAL_TARGET,
    Evaluation,
    clinic_config,
    evaluate,
    load_utterances,
)


@dataclass(frozen=True)
class RunningConfiguration:
    """The rules this instance cleans by and where it reads ``traces.raw`` from."""

    cleaner_version: str
    config_hash: str
    consumer_group: str
    config: dict[str, Any]
    """The cleaning rules as JSON, defaults filled in."""


def running_configuration(cleaner: Cleaner, group: str) -> RunningConfiguration:
    return RunningConfiguration(cleaner.version, cleaner.config_hash, group, cleaner.config.model_dump(mode="json"))


def pii_evaluation(half: Literal["first", "all"], ner: bool = True) -> Evaluation:
    """Recall, precision and survival of the PII detection on the shipped labelled utterances."""
    return evaluate(load_utterances(half), clinic_config(ner))
