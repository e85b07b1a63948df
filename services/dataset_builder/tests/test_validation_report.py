"""Whole-file behaviour: file rules, token statistics and the training estimate."""

import pytest
from dataset_examples import VALID_EXAMPLE as HELLO

from distillery_dataset_builder.domain.limits import UnknownLimitsError, limits_for
from distillery_dataset_builder.domain.validation import (
    Issue,
    ModelLimits,
    TokenStats,
    default_epochs,
    validate_example,
    validate_jsonl,
)
from distillery_runtime.pricing import PriceTable

# HELLO plus one more user turn: 15 + 3 (framing) + 1 ("user") + 2 ("hello world") = 21 tokens.
LONGER = {"messages": HELLO["messages"] + [{"role": "user", "content": "hello world"}]}

RICH_EXAMPLE = {
    "messages": [
        {"role": "system", "content": "You are Ava, the voice assistant of Trattoria Bella."},
        {"role": "user", "name": "caller", "content": "Is it going to rain in Rome tonight?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Ostia"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c2", "content": "dry"},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "light rain after 9pm"}]},
        {"role": "assistant", "content": "Light rain after nine, so book inside.", "weight": 0},
        {"role": "user", "content": [{"type": "text", "text": "Then a table inside for two, please."}]},
        {"role": "assistant", "content": "Done: two people, inside, at eight.", "weight": 1},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Forecast for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
                "strict": True,
            },
        }
    ],
    "parallel_tool_calls": True,
}


def test_a_well_formed_file_passes(write_jsonl):
    report = validate_jsonl(write_jsonl([RICH_EXAMPLE, HELLO] * 6), "gpt-4o-mini-2024-07-18")
    assert report.errors == []
    assert report.is_valid
    assert (report.examples, report.invalid_examples) == (12, 0)


def test_a_file_needs_at_least_ten_examples(write_jsonl):
    report = validate_jsonl(write_jsonl([HELLO] * 9), "gpt-4o-mini")
    assert [str(error) for error in report.errors] == ["file has 9 examples; OpenAI needs at least 10"]
    assert not report.is_valid


def test_a_file_over_the_size_limit_is_rejected(write_jsonl):
    path = write_jsonl([HELLO] * 40)  # 40 lines of 108 bytes
    small = ModelLimits(model="gpt-4o-mini", max_example_tokens=65_536, max_file_bytes=2_000)
    report = validate_jsonl(path, "gpt-4o-mini", limits=small)
    assert [str(error) for error in report.errors] == ["file is 4.3 kB; OpenAI accepts at most 2 kB"]


def test_validation_reports_every_error_in_file_order(write_jsonl):
    lines = [HELLO] * 12
    lines[1] = "{oops"
    lines[4] = {"messages": [{"role": "user", "content": "hi"}]}
    lines[10] = ""
    report = validate_jsonl(write_jsonl(lines), "gpt-4o-mini")
    assert [(error.line, error.code) for error in report.errors] == [
        (2, "invalid_json"),
        (5, "missing_assistant_message"),
        (11, "blank_line"),
    ]
    assert (report.examples, report.invalid_examples, report.error_count) == (11, 2, 3)


def test_errors_beyond_the_cap_are_counted_but_not_kept(write_jsonl):
    report = validate_jsonl(write_jsonl(["[]"] * 12), "gpt-4o-mini", max_errors=5)
    assert len(report.errors) == 5
    assert report.error_count == 12
    assert report.errors[-1].line == 5


def test_token_statistics_describe_the_examples(write_jsonl):
    report = validate_jsonl(write_jsonl([HELLO] * 10 + [LONGER]), "gpt-4o-mini")
    assert report.tokens == TokenStats(total=171, min=15, max=21, mean=171 / 11, p50=15, p95=21)


def test_percentiles_use_the_nearest_rank():
    stats = TokenStats.of(list(range(1, 101)))
    assert (stats.p50, stats.p95, stats.min, stats.max) == (50, 95, 1, 100)
    assert TokenStats.of([]) is None


def test_the_training_estimate_uses_openais_default_epochs_when_none_are_given(write_jsonl):
    # Ten examples: OpenAI trains 100 // 10 = 10 epochs; 10 x 15 tokens x 10 = 1,500 tokens.
    report = validate_jsonl(write_jsonl([HELLO] * 10), "gpt-4o-mini", prices=PriceTable())
    training = report.training
    assert (training.epochs, training.epochs_defaulted, training.billable_tokens) == (10, True, 1_500)
    assert training.cost_usd == pytest.approx(1_500 * 3.00 / 1e6)


def test_given_epochs_replace_the_default(write_jsonl):
    report = validate_jsonl(write_jsonl([HELLO] * 10), "gpt-4o-mini", epochs=2, prices=PriceTable())
    assert (report.training.epochs, report.training.epochs_defaulted, report.training.billable_tokens) == (
        2,
        False,
        300,
    )


def test_prices_from_the_environment_change_the_estimate(write_jsonl, monkeypatch):
    monkeypatch.setenv(
        "DISTILLERY_PRICES", '{"gpt-4o-mini": {"input": 0.15, "output": 0.6, "training": 6.0}}'
    )
    report = validate_jsonl(write_jsonl([HELLO] * 10), "gpt-4o-mini", epochs=1)
    assert report.training.cost_usd == pytest.approx(150 * 6.0 / 1e6)


def test_a_model_without_a_training_price_still_gets_token_estimates(write_jsonl):
    report = validate_jsonl(write_jsonl([HELLO] * 10), "gpt-4.1", epochs=1, prices=PriceTable())
    assert report.training.billable_tokens == 150
    assert report.training.cost_usd is None
    assert "no training price for model 'gpt-4.1'" in report.training.cost_note


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [(10, 10), (12, 8), (3, 25), (34, 3), (8_333, 3), (9_000, 2), (100_000, 1)],
)
def test_default_epochs_follow_openais_rule(examples, epochs):
    assert default_epochs(examples) == epochs


@pytest.mark.parametrize(
    ("model", "tokens"),
    [
        ("gpt-4o-mini-2024-07-18", 65_536),
        ("ft:gpt-4o-mini-2024-07-18:org::abc", 65_536),
        ("gpt-4.1-2025-04-14", 65_536),
        ("gpt-3.5-turbo-0125", 16_385),
    ],
)
def test_each_base_model_has_its_per_example_token_limit(model, tokens):
    limits = limits_for(model)
    assert (limits.max_example_tokens, limits.min_examples, limits.max_file_bytes) == (
        tokens,
        10,
        512_000_000,
    )
    assert limits.model == model


def test_limits_can_come_from_a_custom_table():
    table = {"gpt-4o-mini": ModelLimits(model="gpt-4o-mini", max_example_tokens=32_000)}
    assert limits_for("gpt-4o-mini-2024-07-18", table).max_example_tokens == 32_000
    with pytest.raises(UnknownLimitsError, match="no fine-tuning limits for model 'gpt-4o'"):
        limits_for("gpt-4o", table)


def test_an_example_can_be_checked_in_memory():
    limits = limits_for("gpt-4o-mini")
    assert validate_example(HELLO, limits) == []
    broken = {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "weight": 3}]
    }
    assert validate_example(broken, limits) == [
        Issue("invalid_weight", "message 2 (assistant) has weight 3; weight must be 0 or 1", message_index=1)
    ]


def test_a_custom_token_limit_applies_to_examples():
    tight = ModelLimits(model="gpt-4o-mini", max_example_tokens=14)
    assert validate_example(HELLO, tight) == [
        Issue("too_many_tokens", "example has 15 tokens; gpt-4o-mini allows at most 14 per example")
    ]


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        validate_jsonl(tmp_path / "absent.jsonl", "gpt-4o-mini")


def test_zero_epochs_are_refused(write_jsonl):
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        validate_jsonl(write_jsonl([HELLO] * 10), "gpt-4o-mini", epochs=0)
