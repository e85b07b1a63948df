"""Event ids are deterministic where the design says so, so consumers can dedupe redeliveries."""

from distillery_contracts import (
    CallScored,
    DeadLettered,
    TraceScored,
    derive_example_id,
    derive_rejection_id,
    observation_event_id,
)
from distillery_contracts.samples import (
    sample_dataset_built,
    sample_finetune_job_changed,
    sample_score,
    sample_trace_captured,
)


def test_a_trace_is_identified_by_its_langfuse_project_and_observation():
    assert sample_trace_captured().event_id() == "clinic-prod:obs-0001"
    assert sample_trace_captured(ingested_at="2026-04-01T00:00:00Z").event_id() == "clinic-prod:obs-0001"


def test_two_projects_observations_with_the_same_id_are_two_events():
    assert sample_trace_captured(project_id="a").event_id() != sample_trace_captured(project_id="b").event_id()
    assert _late("a", project_id="p1").event_id() != _late("a", project_id="p2").event_id()
    assert _scored(project_id="p1").event_id() != _scored(project_id="p2").event_id()


def test_a_project_id_cannot_be_shifted_into_the_observation_id():
    assert observation_event_id("a:b", "c") != observation_event_id("a", "b:c")
    assert observation_event_id("a%3Ab", "c") != observation_event_id("a:b", "c")


def test_a_call_scored_before_it_carried_its_project_keeps_the_id_it_was_published_with():
    assert _scored(project_id=None).event_id() == "obs-1"
    assert _scored(project_id="p").event_id() == "p:obs-1"


def _scored(project_id: str | None) -> CallScored:
    return CallScored(observation_id="obs-1", project_id=project_id, trace_id="tr-1", rollout_id="r-1",
                      stage_index=0, arm="candidate", model="m", scored_at="2026-04-01T00:00:00Z")


def test_traces_are_keyed_by_session_or_by_trace_without_one():
    assert sample_trace_captured().partition_key() == "call-7f3a"
    assert sample_trace_captured(session_id=None).partition_key() == "tr-0001"


def _late(*score_ids: str, project_id: str = "p") -> TraceScored:
    return TraceScored(
        project_id=project_id,
        observation_id="obs-1",
        trace_id="tr-1",
        scores=[sample_score(score_id=i) for i in score_ids],
    )


def test_late_scores_get_the_same_id_whatever_their_order():
    assert _late("a", "b").event_id() == _late("b", "a").event_id()
    assert _late("a", "b").event_id() != _late("a", "c").event_id()
    assert _late("a").event_id().startswith("p:obs-1:scores:")


def test_example_ids_change_with_the_cleaner_version_or_config_but_not_otherwise():
    first = derive_example_id("hash-1", "cleaner-1.0.0", "cfg-a")
    assert first == derive_example_id("hash-1", "cleaner-1.0.0", "cfg-a")
    assert first != derive_example_id("hash-1", "cleaner-1.1.0", "cfg-a")
    assert first != derive_example_id("hash-1", "cleaner-1.0.0", "cfg-b")
    assert first != derive_example_id("hash-2", "cleaner-1.0.0", "cfg-a")
    assert derive_rejection_id("obs-1", "v1", "c") == derive_rejection_id("obs-1", "v1", "c")


def test_id_parts_cannot_be_shifted_into_each_other():
    assert derive_example_id("ab", "c", "d") != derive_example_id("a", "bc", "d")


def test_job_events_are_one_per_job_and_status():
    assert sample_finetune_job_changed().event_id() == "job-0007:succeeded"
    assert sample_finetune_job_changed().partition_key() == "ds-0007"


def test_a_dataset_build_is_identified_by_id_and_version():
    assert sample_dataset_built().event_id() == "ds-0007:v7"


def test_dead_letters_are_identified_by_message_position_and_group():
    def letter() -> DeadLettered:
        return DeadLettered.from_message(
            error=ValueError("bad"),
            source_topic="t",
            value=b"\xff{}",
            attempts=3,
            key=b"call-1",
            headers=[("event-type", b"TraceCaptured")],
            partition=2,
            offset=40,
            consumer_group="cleaner",
        )

    first = letter()
    assert first.event_id() == letter().event_id() == "t:2:40:cleaner"
    assert first.original_value == "\ufffd{}"
    assert first.original_headers == {"event-type": "TraceCaptured"}
    assert first.partition_key() == "call-1"
    assert first.error_type == "ValueError"
