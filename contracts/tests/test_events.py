"""Every event round-trips through JSON, matches its committed schema and rejects bad input."""

import json
from datetime import datetime

import jsonschema
import pytest
from pydantic import ValidationError

from distillery_contracts import (
    AdvanceRollout,
    BackfillRange,
    ChatMessage,
    Comparator,
    EvaluationCompleted,
    ExampleRejected,
    FineTuneMessage,
    FinetuneJobChanged,
    TraceCaptured,
    all_topic_specs,
    event_classes,
)
from distillery_contracts.samples import (
    sample_evaluation_completed,
    sample_events,
    sample_example_rejected,
    sample_finetune_job_changed,
    sample_gate,
    sample_trace_captured,
)
from distillery_contracts.schemagen import SCHEMAS_DIR, schema_path

SAMPLES = sample_events()


def test_every_event_class_has_a_type_a_version_and_a_sample():
    sampled = {type(e) for e in SAMPLES}
    for cls in event_classes():
        assert cls.event_type == cls.__name__
        assert isinstance(cls.schema_version, int) and cls.schema_version >= 1
        assert cls.__doc__, f"{cls.__name__} has no docstring"
        assert cls in sampled, f"no sample for {cls.__name__}"


def test_every_field_of_every_event_and_value_type_is_described():
    undocumented = []
    for cls in event_classes():
        schema = cls.model_json_schema()
        for model in [schema, *schema.get("$defs", {}).values()]:
            for name, prop in model.get("properties", {}).items():
                if not prop.get("description"):
                    undocumented.append(f"{cls.__name__}: {model['title']}.{name}")
    assert undocumented == []


def test_gate_comparators_read_as_value_comparator_threshold():
    assert Comparator.LE.holds(0.02, 0.02) and not Comparator.LT.holds(0.02, 0.02)
    assert Comparator.GE.holds(0.9, 0.85) and not Comparator.GT.holds(0.85, 0.9)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_events_round_trip_through_json(event):
    assert type(event).model_validate_json(event.model_dump_json()) == event


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_event_json_validates_against_its_committed_schema(event):
    cls = type(event)
    spec = next(s for s in all_topic_specs() if cls in s.events)
    schema = json.loads((SCHEMAS_DIR / schema_path(spec, cls)).read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(event.model_dump_json()))


def test_naive_timestamps_are_rejected():
    with pytest.raises(ValidationError, match="timezone"):
        sample_trace_captured(start_time=datetime(2026, 3, 2, 9, 15))


def test_trace_keeps_tool_calls_and_text_of_multipart_content():
    trace = sample_trace_captured()
    assert trace.input_messages[2].tool_calls[0].function.name == "find_slot"
    message = ChatMessage.model_validate(
        {
            "role": "user",
            "content": [{"type": "text", "text": "Tuesday"}, {"type": "text", "text": "9:30"}],
        }
    )
    assert message.text() == "Tuesday\n9:30"
    assert not message.has_non_text_content()


def test_non_text_content_is_kept_so_the_cleaner_can_reject_it():
    raw = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
    }
    message = ChatMessage.model_validate(raw)
    assert message.has_non_text_content()
    assert message.model_dump(exclude_none=True) == raw
    trace = sample_trace_captured(input_messages=[raw])
    assert TraceCaptured.model_validate_json(trace.model_dump_json()) == trace


def test_fine_tune_message_refuses_weight_outside_assistant_turns():
    with pytest.raises(ValidationError, match="weight is only allowed on assistant"):
        FineTuneMessage(role="user", content="hello", weight=0)
    with pytest.raises(ValidationError):
        FineTuneMessage(role="assistant", content="hello", weight=2)
    assert FineTuneMessage(role="assistant", content="hello", weight=0).weight == 0


def test_tool_message_needs_the_call_it_answers():
    with pytest.raises(ValidationError, match="tool_call_id"):
        FineTuneMessage(role="tool", content='{"slot": "9:30"}')


def test_duplicate_rejections_name_the_kept_example():
    with pytest.raises(ValidationError, match="needs duplicate_of"):
        sample_example_rejected(reason="duplicate_near")
    kept = sample_example_rejected(reason="duplicate_near", duplicate_of="ex-1")
    assert kept.duplicate_of == "ex-1"
    with pytest.raises(ValidationError, match="only set for duplicate reasons"):
        sample_example_rejected(reason="truncated", duplicate_of="ex-1")
    assert isinstance(kept, ExampleRejected)


def test_succeeded_job_needs_its_model_and_failed_job_its_error():
    with pytest.raises(ValidationError, match="fine_tuned_model"):
        sample_finetune_job_changed(fine_tuned_model=None)
    with pytest.raises(ValidationError, match="error saying why"):
        sample_finetune_job_changed(status="failed", fine_tuned_model=None)
    failed = sample_finetune_job_changed(
        status="failed",
        fine_tuned_model=None,
        error={"code": "invalid_training_file", "message": "line 12: missing messages"},
    )
    assert isinstance(failed, FinetuneJobChanged) and failed.status.terminal


def test_an_evaluation_cannot_pass_with_a_failed_gate_or_error_without_a_message():
    with pytest.raises(ValidationError, match="every gate passed"):
        sample_evaluation_completed(gates=[sample_gate(passed=False)])
    with pytest.raises(ValidationError, match="error_message"):
        sample_evaluation_completed(outcome="error", gates=[])
    errored = sample_evaluation_completed(
        outcome="error", gates=[], error_message="judge timed out"
    )
    assert isinstance(errored, EvaluationCompleted)


def test_a_forced_advance_needs_a_reason():
    with pytest.raises(ValidationError, match="needs a reason"):
        AdvanceRollout(rollout_id="ro-1", force=True, requested_by="ana")


def test_a_backfill_range_must_not_be_empty():
    with pytest.raises(ValidationError, match="range is empty"):
        BackfillRange(
            from_time="2026-03-02T10:00:00Z", to_time="2026-03-02T09:00:00Z", requested_by="ana"
        )
