"""The topic registry: every topic, its key, payload types, partitions and retention.

``distillery stack up`` and ``distillery topics create`` create topics from here, and
producers find the topic of an event here; a topic not in this file does not exist.
"""

from __future__ import annotations

import re

from distillery_contracts.base import Event, TopicSpec
from distillery_contracts.commands import (
    ROLLOUT_COMMANDS,
    BackfillRange,
    BuildDataset,
    CancelJob,
    RunEvaluation,
)
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.evaluations import CallScored, EvaluationCompleted, EvaluationItemScored
from distillery_contracts.examples import ExampleAccepted, ExampleRejected
from distillery_contracts.finetune import FinetuneJobChanged
from distillery_contracts.privacy import CallerErased, EraseCaller
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.traces import TraceCaptured, TraceScored

DAY_MS = 24 * 3600 * 1000
HIGH_VOLUME_PARTITIONS = 12
LOW_VOLUME_PARTITIONS = 3
DLQ_PARTITIONS = 3
DLQ_RETENTION_MS = 30 * DAY_MS

TOPIC_NAME_PATTERN = re.compile(r"^distillery(\.[a-z][a-z_]*)+\.v[1-9][0-9]*$")
"""``distillery.<stream>.v<N>``; a stream may have several dotted parts."""

TRACES_RAW = "distillery.traces.raw.v1"
EXAMPLES_ACCEPTED = "distillery.examples.accepted.v1"
EXAMPLES_REJECTED = "distillery.examples.rejected.v1"
DATASETS_BUILT = "distillery.datasets.built.v1"
FINETUNE_JOBS = "distillery.finetune.jobs.v1"
EVALUATIONS_COMPLETED = "distillery.evaluations.completed.v1"
EVALUATIONS_ONLINE = "distillery.evaluations.online.v1"
EVALUATIONS_ITEMS = "distillery.evaluations.items.v1"
ROLLOUT_DECISIONS = "distillery.rollout.decisions.v1"
ROUTING_TABLE = "distillery.routing.table.v1"
COMMANDS_INGEST = "distillery.commands.ingest.v1"
COMMANDS_DATASET = "distillery.commands.dataset.v1"
COMMANDS_FINETUNE = "distillery.commands.finetune.v1"
COMMANDS_EVAL = "distillery.commands.eval.v1"
COMMANDS_ROLLOUT = "distillery.commands.rollout.v1"
COMMANDS_PRIVACY = "distillery.commands.privacy.v1"
PRIVACY_ERASURES = "distillery.privacy.erasures.v1"


def _spec(
    name: str,
    events: tuple[type[Event], ...],
    key: str,
    partitions: int,
    retention_days: int | None,
    description: str,
    compacted: bool = False,
) -> TopicSpec:
    retention = None if retention_days is None else retention_days * DAY_MS
    return TopicSpec(
        name=name,
        events=events,
        key=key,
        partitions=partitions,
        retention_ms=retention,
        compacted=compacted,
        description=description,
    )


_SPECS = (
    _spec(
        TRACES_RAW,
        (TraceCaptured, TraceScored),
        "session_id (trace_id without a session)",
        HIGH_VOLUME_PARTITIONS,
        30,
        "Langfuse generations and late scores; the replay source.",
    ),
    _spec(
        EXAMPLES_ACCEPTED,
        (ExampleAccepted,),
        "lineage.session_id",
        HIGH_VOLUME_PARTITIONS,
        30,
        "Cleaned fine-tuning examples, one per accepted generation and cleaner version.",
    ),
    _spec(
        EXAMPLES_REJECTED,
        (ExampleRejected,),
        "lineage.session_id",
        HIGH_VOLUME_PARTITIONS,
        30,
        "Every dropped generation with its reason: the cleaner's audit trail.",
    ),
    _spec(
        DATASETS_BUILT,
        (DatasetBuilt,),
        "dataset_id",
        LOW_VOLUME_PARTITIONS,
        365,
        "Published training sets with their files and manifest.",
    ),
    _spec(
        FINETUNE_JOBS,
        (FinetuneJobChanged,),
        "dataset_id",
        LOW_VOLUME_PARTITIONS,
        365,
        "Fine-tuning job state changes.",
    ),
    _spec(
        EVALUATIONS_COMPLETED,
        (EvaluationCompleted,),
        "candidate_model",
        LOW_VOLUME_PARTITIONS,
        365,
        "Offline evaluation verdicts with gates and metrics.",
    ),
    _spec(
        EVALUATIONS_ONLINE,
        (CallScored,),
        "rollout_id",
        HIGH_VOLUME_PARTITIONS,
        365,
        "Live calls of a rollout, scored by the evaluator.",
    ),
    _spec(
        EVALUATIONS_ITEMS,
        (EvaluationItemScored,),
        "run_id",
        LOW_VOLUME_PARTITIONS,
        180,  # callers' (redacted) words with no id erase could find: as long as the evaluator keeps them
        "Each prompt of an offline evaluation with every answer and verdict (the console's answer-by-answer page).",
    ),
    _spec(
        ROLLOUT_DECISIONS,
        (RolloutDecided,),
        "rollout_id",
        LOW_VOLUME_PARTITIONS,
        365,
        "Every rollout decision with its metrics snapshot.",
    ),
    _spec(
        ROUTING_TABLE,
        (RouteTableUpdated,),
        "route",
        1,
        None,
        "Current weights per route; compacted, the latest table per route wins.",
        compacted=True,
    ),
    _spec(
        COMMANDS_INGEST,
        (BackfillRange,),
        "project_id ('all' for every project)",
        LOW_VOLUME_PARTITIONS,
        7,
        "Requests to the trace-ingester.",
    ),
    _spec(
        COMMANDS_DATASET,
        (BuildDataset,),
        "none (no ordering needed)",
        LOW_VOLUME_PARTITIONS,
        7,
        "Requests to the dataset-builder.",
    ),
    _spec(
        COMMANDS_FINETUNE,
        (CancelJob,),
        "job_id",
        LOW_VOLUME_PARTITIONS,
        7,
        "Requests to the finetune-controller.",
    ),
    _spec(
        COMMANDS_EVAL,
        (RunEvaluation,),
        "model",
        LOW_VOLUME_PARTITIONS,
        7,
        "Requests to the evaluator.",
    ),
    _spec(
        COMMANDS_ROLLOUT,
        ROLLOUT_COMMANDS,
        "rollout_id",
        LOW_VOLUME_PARTITIONS,
        7,
        "Operator requests to the rollout-controller.",
    ),
    _spec(
        COMMANDS_PRIVACY,
        (EraseCaller,),
        "session_id (trace_id without a session)",
        LOW_VOLUME_PARTITIONS,
        7,
        "Requests to erase one caller's data; every service holding callers' data obeys them.",
    ),
    _spec(
        PRIVACY_ERASURES,
        (CallerErased,),
        "erasure_id",
        LOW_VOLUME_PARTITIONS,
        365,
        "What each service removed for an erasure: the record that it was done (ids only).",
    ),
)

TOPICS: dict[str, TopicSpec] = {spec.name: spec for spec in _SPECS}
"""Every topic by name, dead-letter topics excluded (see ``dlq_spec``)."""


class UnknownTopic(KeyError):
    """A topic name that the registry does not know."""

    def __str__(self) -> str:
        return str(self.args[0])


def dlq_spec(spec: TopicSpec) -> TopicSpec:
    """The dead-letter topic of ``spec``: ``<name>.dlq`` carrying ``DeadLettered``."""
    return TopicSpec(
        name=spec.dlq,
        events=(DeadLettered,),
        key="original key",
        partitions=DLQ_PARTITIONS,
        retention_ms=DLQ_RETENTION_MS,
        description=f"Messages of {spec.name} that could never be processed.",
    )


def all_topic_specs() -> list[TopicSpec]:
    """Every topic followed by its dead-letter topic, in registry order."""
    return [s for spec in TOPICS.values() for s in (spec, dlq_spec(spec))]


def get_topic(name: str) -> TopicSpec:
    """The spec of a topic or a dead-letter topic; ``UnknownTopic`` names the known ones."""
    if name in TOPICS:
        return TOPICS[name]
    base = name.removesuffix(".dlq")
    if name.endswith(".dlq") and base in TOPICS:
        return dlq_spec(TOPICS[base])
    raise UnknownTopic(f"unknown topic {name!r}; known topics: {', '.join(TOPICS)}")


def topic_for(event_class: type[Event]) -> TopicSpec:
    """The one topic an event class is published on (DeadLettered has one per topic)."""
    found = [spec for spec in all_topic_specs() if event_class in spec.events]
    if len(found) != 1:
        where = "no topic" if not found else f"{len(found)} topics"
        raise UnknownTopic(f"{event_class.__name__} is published on {where}; cannot choose one")
    return found[0]


def event_classes() -> list[type[Event]]:
    """Every event class in the registry, DeadLettered included, without repeats."""
    classes = [event for spec in TOPICS.values() for event in spec.events]
    return [*dict.fromkeys(classes), DeadLettered]
