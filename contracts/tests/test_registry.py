"""The topic registry names every topic properly and gives each a dead-letter topic."""

import pytest

from distillery_contracts import DeadLettered, TraceCaptured, registry
from distillery_contracts.registry import (
    DAY_MS,
    EVALUATIONS_ONLINE,
    ROUTING_TABLE,
    TOPIC_NAME_PATTERN,
    TOPICS,
    TRACES_RAW,
)

STREAMS = {
    "traces.raw",
    "examples.accepted",
    "examples.rejected",
    "datasets.built",
    "finetune.jobs",
    "evaluations.completed",
    "evaluations.online",
    "evaluations.items",
    "rollout.decisions",
    "routing.table",
    "commands.ingest",
    "commands.dataset",
    "commands.finetune",
    "commands.eval",
    "commands.rollout",
    "commands.privacy",
    "privacy.erasures",
}


def test_every_stream_of_the_design_has_a_topic():
    assert {name.removeprefix("distillery.").rsplit(".v", 1)[0] for name in TOPICS} == STREAMS


@pytest.mark.parametrize("name", [s.name for s in registry.all_topic_specs()])
def test_topic_names_follow_distillery_stream_version(name):
    assert TOPIC_NAME_PATTERN.match(name.removesuffix(".dlq")), name


@pytest.mark.parametrize(
    "bad",
    ["traces.raw.v1", "distillery.traces.raw", "distillery.Traces.v1", "distillery.traces.raw.v0"],
)
def test_the_name_pattern_rejects_malformed_names(bad):
    assert not TOPIC_NAME_PATTERN.match(bad)


def test_every_topic_has_a_dead_letter_topic():
    specs = {s.name: s for s in registry.all_topic_specs()}
    for name in TOPICS:
        dlq = specs[f"{name}.dlq"]
        assert dlq.events == (DeadLettered,)
        assert dlq.partitions == 3 and dlq.retention_ms == 30 * DAY_MS
    assert len(specs) == 2 * len(TOPICS)


def test_partitions_and_retention_follow_volume_and_purpose():
    assert TOPICS[TRACES_RAW].partitions == 12
    assert TOPICS[TRACES_RAW].topic_config() == {"retention.ms": str(30 * DAY_MS)}
    assert TOPICS[EVALUATIONS_ONLINE].partitions == 12
    assert TOPICS["distillery.commands.rollout.v1"].retention_ms == 7 * DAY_MS
    assert TOPICS["distillery.rollout.decisions.v1"].retention_ms == 365 * DAY_MS
    routing = TOPICS[ROUTING_TABLE]
    assert routing.partitions == 1 and routing.compacted
    assert routing.topic_config() == {"cleanup.policy": "compact"}


def test_each_event_class_lives_on_exactly_one_topic():
    for cls in registry.event_classes():
        if cls is not DeadLettered:
            assert cls in registry.topic_for(cls).events
    assert registry.topic_for(TraceCaptured).name == TRACES_RAW


def test_event_types_are_unique_so_headers_identify_the_model():
    types = [cls.event_type for cls in registry.event_classes()]
    assert len(types) == len(set(types))


def test_get_topic_finds_topics_and_their_dead_letter_topics():
    assert registry.get_topic(TRACES_RAW) is TOPICS[TRACES_RAW]
    assert registry.get_topic(f"{TRACES_RAW}.dlq") == registry.dlq_spec(TOPICS[TRACES_RAW])


def test_an_unknown_topic_is_named_with_the_known_ones():
    with pytest.raises(
        registry.UnknownTopic, match="unknown topic 'distillery.traces.v1'; known topics: distillery"
    ):
        registry.get_topic("distillery.traces.v1")
    with pytest.raises(registry.UnknownTopic, match="DeadLettered is published on 17 topics"):
        registry.topic_for(DeadLettered)


def test_evaluation_items_are_keyed_by_run_so_a_run_reads_in_order():
    from distillery_contracts.registry import EVALUATIONS_ITEMS, topic_for
    from distillery_contracts.evaluations import EvaluationItemScored
    from distillery_contracts.samples import sample_evaluation_item_scored

    assert topic_for(EvaluationItemScored).name == EVALUATIONS_ITEMS
    item = sample_evaluation_item_scored()
    assert item.partition_key() == item.run_id
    assert item.event_id() == f"{item.run_id}:{item.item_id}"


def test_an_erasure_names_exactly_one_caller_and_each_service_reports_once():
    from distillery_contracts.privacy import CallerErased, EraseCaller
    from distillery_contracts.registry import COMMANDS_PRIVACY, PRIVACY_ERASURES, topic_for

    who = {"requested_by": "dpo@riverside"}
    with pytest.raises(ValueError, match="exactly one of session_id and trace_id"):
        EraseCaller(**who)
    with pytest.raises(ValueError, match="exactly one of session_id and trace_id"):
        EraseCaller(session_id="call-1", trace_id="tr-1", **who)
    command = EraseCaller(trace_id="tr-1", **who)
    assert command.partition_key() == "tr-1" and topic_for(EraseCaller).name == COMMANDS_PRIVACY
    done = CallerErased(erasure_id=command.command_id, service="cleaner", trace_id="tr-1", stores=[])
    assert done.event_id() == f"{command.command_id}:cleaner" and topic_for(CallerErased).name == PRIVACY_ERASURES
