import json
from datetime import timedelta

import jsonschema
import pytest
from distillery_sandbox.workload import (
    INTENTS,
    MODEL_PRICES_PER_MILLION,
    DefectRates,
    WorkloadConfig,
    simulate_calls,
    tool_definitions,
)

CONFIG = WorkloadConfig(seed=11, calls=300, user_turns=(2, 5))
CALLS = list(simulate_calls(CONFIG))
GENERATIONS = [g for call in CALLS for g in call.generations]


def test_the_same_seed_gives_the_same_traffic_ids_and_timestamps_included():
    assert list(simulate_calls(CONFIG)) == CALLS


def test_a_different_seed_gives_different_traffic():
    other = list(simulate_calls(WorkloadConfig(seed=12, calls=300, user_turns=(2, 5))))
    assert [c.call_id for c in other] != [c.call_id for c in CALLS]


def test_every_call_has_a_number_of_caller_turns_within_the_range():
    for call in CALLS:
        last = call.generations[-1].messages
        turns = sum(1 for m in last if m["role"] == "user")
        assert CONFIG.user_turns[0] <= turns <= CONFIG.user_turns[1]


def test_ids_are_unique_and_the_call_is_trace_and_session():
    assert len({g.observation_id for g in GENERATIONS}) == len(GENERATIONS)
    for call in CALLS:
        assert {g.trace_id for g in call.generations} == {call.call_id}
        assert {g.session_id for g in call.generations} == {call.call_id}
        assert {g.user_id for g in call.generations} == {call.caller_id}


def test_calls_spread_over_the_window_the_call_rate_implies():
    starts = [call.started_at for call in CALLS]
    assert starts == sorted(starts) and starts[0] >= CONFIG.start
    expected = timedelta(hours=CONFIG.calls / CONFIG.calls_per_hour)
    assert 0.7 * expected < starts[-1] - CONFIG.start < 1.3 * expected


def test_turns_of_a_call_follow_each_other_in_time():
    for call in CALLS:
        for before, after in zip(call.generations, call.generations[1:]):
            assert before.start_time < before.end_time <= after.start_time


def test_each_generation_sees_the_whole_chat_so_far():
    for call in CALLS:
        for before, after in zip(call.generations, call.generations[1:]):
            assert after.messages[: len(before.messages)] == before.messages
            assert after.messages[len(before.messages)] == before.output
        assert call.generations[0].messages[0]["role"] == "system"


def test_tool_calls_are_answered_by_tool_messages_with_valid_arguments():
    validators = {t["function"]["name"]: jsonschema.Draft202012Validator(t["function"]["parameters"])
                  for t in tool_definitions(CONFIG.knowledge_base)}
    seen = 0
    for call in CALLS:
        messages = call.generations[-1].messages
        for i, message in enumerate(messages):
            for tool_call in message.get("tool_calls") or []:
                seen += 1
                validators[tool_call["function"]["name"]].validate(
                    json.loads(tool_call["function"]["arguments"]))
                answer = messages[i + 1]
                assert (answer["role"], answer["tool_call_id"]) == ("tool", tool_call["id"])
    assert seen > 100


def test_usage_is_about_four_characters_a_token_and_cost_uses_gpt41_prices():
    per_input, per_output = MODEL_PRICES_PER_MILLION["gpt-4.1"]
    for g in GENERATIONS:
        characters = sum(len(m.get("content") or "") for m in g.messages)
        assert characters / 4 < g.usage.input_tokens < characters / 4 + 1500
        assert g.cost.input == pytest.approx(g.usage.input_tokens * per_input / 1e6)
        assert g.cost.output == pytest.approx(g.usage.output_tokens * per_output / 1e6)
        assert g.model == "gpt-4.1"


def test_latency_and_time_to_first_token_are_plausible():
    latencies = sorted(g.latency for g in GENERATIONS)
    assert 0.3 < latencies[len(latencies) // 2] < 3.0
    assert all(0 < g.time_to_first_token < g.latency for g in GENERATIONS)


def test_generations_carry_the_recording_details_a_platform_logs():
    for g in GENERATIONS:
        assert g.metadata["channel"] == "voice" and g.intent in INTENTS
        assert g.metadata["intent"] == g.intent
        assert g.model_parameters == {"max_tokens": CONFIG.max_tokens, "temperature": CONFIG.temperature}
        assert (g.prompt_name, g.prompt_version) == (CONFIG.prompt_name, CONFIG.prompt_version)
        assert g.environment == "production" and "voice" in g.tags
        assert g.level == "DEFAULT" and g.defects == frozenset()


def test_clean_traffic_has_only_zero_hallucination_scores():
    scores = [s for call in CALLS for s in call.scores]
    assert scores and {s.value for s in scores} == {0.0}
    assert all(s.timestamp > CONFIG.start for s in scores)


def test_every_intent_of_the_line_occurs():
    assert {g.intent for g in GENERATIONS} >= set(INTENTS) - {"other"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"user_turns": (3, 2)}, "user_turns"),
        ({"calls_per_hour": 0}, "calls_per_hour"),
        ({"start": CONFIG.start.replace(tzinfo=None)}, "timezone"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match=message):
        WorkloadConfig(**changes)


def test_defect_rates_are_checked():
    with pytest.raises(ValueError, match="between 0 and 1"):
        DefectRates(pii=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        DefectRates(cut=0.5, error=0.3, truncated=0.3)
