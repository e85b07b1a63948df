"""Langfuse generations, as the SDKs record them, become TraceCaptured events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from distillery_contracts.traces import ObservationLevel
from distillery_trace_ingester.domain.mapping import UnmappableObservation, observation_to_trace
from distillery_trace_ingester.samples import ANSWER, CALL_MESSAGES, sample_generation, sample_score

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def mapped(**overrides):
    return observation_to_trace(sample_generation(1, **overrides), [], "clinic", NOW)


def test_maps_an_openai_integration_generation_with_tools_and_a_tool_call():
    trace = observation_to_trace(sample_generation(1), [sample_score()], "clinic", NOW)

    assert trace.event_id() == "clinic:obs-00001"
    assert trace.partition_key() == "call-0000"
    assert (trace.project_id, trace.trace_id, trace.user_id) == ("clinic", "trace-00001", "caller-00042")
    assert [m.role for m in trace.input_messages] == ["system", "user", "assistant", "tool"]
    call = trace.input_messages[2].tool_calls[0]
    assert (call.id, call.function.name) == ("call_1", "check_availability")
    assert json.loads(call.function.arguments) == {"service": "blood_test", "weekday": "tuesday"}
    assert trace.input_messages[3].tool_call_id == "call_1"
    assert [t.function.name for t in trace.tools] == ["check_availability"]
    assert trace.output.text() == ANSWER["content"]
    assert (trace.model, trace.finish_reason) == ("gpt-4.1", "stop")
    assert (trace.prompt_name, trace.prompt_version) == ("clinic-voice-agent", 3)
    assert trace.tags == ["voice", "clinic-line"] and trace.environment == "production"
    assert [s.score_id for s in trace.scores] == ["score-1"]
    assert trace.ingested_at == NOW


def test_reads_model_parameters_that_langfuse_stores_as_strings():
    trace = mapped(modelParameters={"max_tokens": "256", "temperature": "0.3", "top_p": "1",
                                    "frequency_penalty": "0", "seed": "7", "stop": '["\\n"]'})

    params = trace.model_parameters
    assert (params.max_tokens, params.temperature, params.top_p) == (256, 0.3, 1.0)
    assert params.extra == {"frequency_penalty": 0, "seed": 7, "stop": ["\n"]}


def test_an_infinite_max_tokens_means_no_limit_and_a_bad_one_is_kept_in_extra():
    assert mapped(modelParameters={"max_tokens": "inf"}).model_parameters.max_tokens is None
    params = mapped(modelParameters={"max_tokens": "-5", "max_completion_tokens": "300"}).model_parameters
    assert params.max_tokens is None and params.extra == {"max_tokens": -5, "max_completion_tokens": 300}


def test_model_parameters_and_metadata_may_come_as_json_text():
    trace = mapped(modelParameters='{"max_tokens": "256"}', metadata='{"intent": "booking"}')
    assert trace.model_parameters.max_tokens == 256
    assert trace.metadata == {"intent": "booking"}


def test_metadata_that_is_not_a_json_object_is_kept_under_value():
    assert mapped(metadata="plain words").metadata == {"value": "plain words"}
    assert mapped(metadata="[1, 2]").metadata == {"value": [1, 2]}


def test_max_completion_tokens_counts_as_the_output_limit():
    params = mapped(modelParameters={"max_completion_tokens": "512"}).model_parameters
    assert params.max_tokens == 512


def test_usage_sums_input_keys_like_langfuse_and_reports_cached_tokens():
    trace = mapped(usageDetails={"input": 116, "input_cached_tokens": 896, "output": 10,
                                 "output_reasoning_tokens": 8, "total": 1030},
                   costDetails={"input": 0.000232, "input_cached_tokens": 0.000448, "output": 0.000144},
                   totalCost=None)

    assert trace.usage.model_dump() == {"input_tokens": 1012, "output_tokens": 18, "total_tokens": 1030,
                                        "cached_input_tokens": 896}
    assert trace.cost.input_usd == pytest.approx(0.00068)
    assert trace.cost.total_usd == pytest.approx(0.000824)


def test_usage_in_openai_names_is_read_too():
    trace = mapped(usageDetails={"prompt_tokens": 900, "completion_tokens": 40})
    assert (trace.usage.input_tokens, trace.usage.output_tokens, trace.usage.total_tokens) == (900, 40, 940)


def test_latency_and_time_to_first_token_come_from_the_timestamps():
    trace = mapped()
    assert (trace.latency_ms, trace.time_to_first_token_ms) == (820.0, 310.0)


def test_a_first_token_before_the_start_is_clock_skew_not_a_measurement():
    trace = mapped(completionStartTime="2026-03-02T08:59:59.000Z")
    assert trace.time_to_first_token_ms is None


def test_a_plain_message_list_input_without_tools_is_read():
    trace = mapped(input=json.dumps(CALL_MESSAGES[:2]))
    assert [m.role for m in trace.input_messages] == ["system", "user"] and trace.tools == []


def test_an_input_already_decoded_by_an_export_is_read():
    trace = mapped(input={"messages": CALL_MESSAGES[:2]}, output=ANSWER)
    assert len(trace.input_messages) == 2 and trace.output.content == ANSWER["content"]


def test_multimodal_content_parts_are_kept_for_the_cleaner_to_judge():
    content = [{"type": "text", "text": "What is this rash?"},
               {"type": "image_url", "image_url": {"url": "https://example.org/x.png"}}]
    trace = mapped(input=json.dumps([{"role": "user", "content": content}]))
    assert trace.input_messages[0].has_non_text_content()


@pytest.mark.parametrize("output, expected", [
    (json.dumps({"choices": [{"message": ANSWER, "finish_reason": "length"}]}), ("length", ANSWER["content"])),
    (json.dumps([ANSWER, {"role": "assistant", "content": "other"}]), ("stop", ANSWER["content"])),
    ("Yes, Tuesday works.", ("stop", "Yes, Tuesday works.")),
    (json.dumps({"booking": "confirmed"}), ("stop", '{"booking": "confirmed"}')),
])
def test_output_shapes_the_sdks_record_become_one_assistant_message(output, expected):
    trace = mapped(output=output)
    assert (trace.finish_reason, trace.output.content) == expected
    assert trace.output.role == "assistant"


def test_an_assistant_answer_made_of_tool_calls_is_kept():
    output = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_9", "type": "function", "function": {"name": "book_appointment",
                                                          "arguments": {"weekday": "tuesday"}}}]}
    trace = mapped(output=json.dumps(output))
    assert trace.output.tool_calls[0].function.arguments == '{"weekday": "tuesday"}'


def test_a_generation_that_failed_keeps_its_level_status_and_no_output():
    trace = mapped(level="ERROR", statusMessage="upstream timeout", output=None, usageDetails=None)
    assert (trace.level, trace.status_message, trace.output) == (ObservationLevel.ERROR, "upstream timeout", None)
    assert trace.usage.input_tokens is None


@pytest.mark.parametrize("overrides, reason", [
    ({"input": "caller audio transcript unavailable"}, "input is plain text"),
    ({"input": '[{"role": "user", "content": "My card is 4111'}, "input looks like JSON but does not parse"),
    ({"input": None}, "input is missing"),
    ({"input": json.dumps([{"role": "function", "content": "x"}])}, "legacy function calling"),
    ({"input": json.dumps([{"role": "caller", "content": "x"}])}, "input message 0 has role 'caller'"),
    ({"output": "42"}, "output is a number"),
    ({"traceId": None}, "no traceId"),
    ({"startTime": "yesterday"}, "startTime is not an ISO 8601 timestamp"),
    ({"level": "FATAL"}, "level is not one of"),
    ({"modelParameters": "temperature=0.3"}, "modelParameters is text that is not a JSON object"),
    ({"modelParameters": "[0.3]"}, "modelParameters is not an object"),
    ({"type": "SPAN"}, "type is SPAN"),
])
def test_a_malformed_generation_is_unmappable_with_a_reason(overrides, reason):
    with pytest.raises(UnmappableObservation, match=reason):
        mapped(**overrides)


def test_the_reason_never_repeats_what_the_caller_said():
    secret = "my card number is 4111 1111 1111 1111 and my email is ann@example.org"
    broken = [{"role": "user", "content": {"text": secret}}]
    with pytest.raises(UnmappableObservation) as caught:
        mapped(input=json.dumps(broken))
    assert "4111" not in caught.value.reason and "example.org" not in caught.value.reason
    assert "input message 0 content is an object" in caught.value.reason


def test_a_bad_tool_argument_type_reason_names_the_field_not_the_value():
    broken = [{"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "",
                                                                             "arguments": "{}"}}]}]
    with pytest.raises(UnmappableObservation) as caught:
        mapped(input=json.dumps(broken))
    assert "tool_calls.0.function.name" in caught.value.reason


def test_mapping_is_deterministic():
    assert mapped().model_dump_json() == mapped().model_dump_json()
