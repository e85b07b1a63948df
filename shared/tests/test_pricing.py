import pytest

from distillery_runtime.pricing import (
    ModelPrice,
    ModelRef,
    PriceTable,
    UnknownPriceError,
    resolve_model,
)


def test_a_reference_teacher_turn_costs_six_tenths_of_a_cent():
    # The design's reference case: 1,000 input and 500 output tokens on GPT-4.1.
    assert PriceTable().cost_of_call("gpt-4.1", 1_000, 500) == pytest.approx(0.006)


def test_a_dated_snapshot_is_priced_as_its_family():
    table = PriceTable()
    assert table.cost_of_call("gpt-4.1-2025-04-14", 1_000, 500) == pytest.approx(0.006)
    assert table.cost_of_call("gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)


def test_a_fine_tuned_student_costs_twice_its_base_model():
    table = PriceTable()
    base = table.cost_of_call("gpt-4o-mini", 1_000, 500)
    tuned = table.cost_of_call("ft:gpt-4o-mini-2024-07-18:acme::9xYz", 1_000, 500)
    assert base == pytest.approx(0.00045)
    assert tuned == pytest.approx(0.0009)


def test_an_azure_fine_tuned_model_id_gets_fine_tuned_prices():
    cost = PriceTable().cost_of_call("gpt-4o-mini-2024-07-18.ft-0e208cf33a6a4669", 1_000_000, 0)
    assert cost == pytest.approx(0.30)


def test_cached_input_tokens_are_billed_at_the_cached_rate():
    # 1M input of which 400k cached on gpt-4.1: 600k x 2.00 + 400k x 0.50 = 1.40 USD.
    assert PriceTable().cost_of_call("gpt-4.1", 1_000_000, 0, cached_input_tokens=400_000) == (
        pytest.approx(1.40)
    )


def test_more_cached_than_input_tokens_is_refused():
    with pytest.raises(ValueError, match="exceeds input_tokens"):
        PriceTable().cost_of_call("gpt-4.1", 10, 0, cached_input_tokens=11)


def test_training_cost_is_tokens_times_epochs_at_the_training_price():
    # 100,000 examples of 1,500 tokens, 1 epoch, at 3.00 USD per 1M training tokens.
    assert PriceTable().training_cost("gpt-4o-mini-2024-07-18", 150_000_000, 1) == pytest.approx(450.0)
    assert PriceTable().training_cost("gpt-4o-mini", 1_000_000, 3) == pytest.approx(9.0)


def test_training_a_fine_tuned_model_further_bills_the_base_training_price():
    cost = PriceTable().training_cost("ft:gpt-4o-mini-2024-07-18:acme::9xYz", 1_000_000, 1)
    assert cost == pytest.approx(3.0)


def test_a_model_without_a_training_price_says_how_to_add_one():
    with pytest.raises(UnknownPriceError, match=r"no training price for model 'gpt-4.1'.*DISTILLERY_PRICES"):
        PriceTable().training_cost("gpt-4.1", 1_000, 1)


def test_an_unknown_model_is_an_error_not_a_guess():
    with pytest.raises(UnknownPriceError, match="no price for model 'gpt-4o-mini-audio-preview'"):
        PriceTable().cost_of_call("gpt-4o-mini-audio-preview", 1, 1)


def test_a_fine_tune_of_an_unpriced_family_does_not_fall_back_to_base_prices():
    with pytest.raises(UnknownPriceError, match=r"'ft:gpt-4\.1'"):
        PriceTable().cost_of_call("ft:gpt-4.1-2025-04-14:acme::abc", 1, 1)


def test_prices_from_the_environment_replace_and_add_entries():
    env = {
        "DISTILLERY_PRICES": '{"gpt-4.1-2025-04-14": {"input": 3, "output": 12},'
        ' "gpt-4o": {"input": 2.5, "cached_input": 1.25, "output": 10, "training": 25}}'
    }
    table = PriceTable.from_env(env)
    # No cached price given: cached tokens are billed as ordinary input.
    assert table.cost_of_call("gpt-4.1", 1_000_000, 0, cached_input_tokens=500_000) == pytest.approx(3.0)
    assert table.training_cost("gpt-4o-2024-08-06", 1_000_000, 2) == pytest.approx(50.0)
    assert table.price_of("gpt-4o-mini") == ModelPrice(
        input=0.15, cached_input=0.075, output=0.60, training=3.0
    )


def test_without_the_environment_variable_the_defaults_apply():
    assert PriceTable.from_env({}) == PriceTable()


def test_malformed_price_json_names_the_variable():
    with pytest.raises(ValueError, match="DISTILLERY_PRICES is not valid JSON"):
        PriceTable.from_env({"DISTILLERY_PRICES": "{gpt-4.1: 2}"})


def test_a_negative_or_misspelt_price_names_the_model_and_field():
    with pytest.raises(ValueError, match=r"bad prices for 'gpt-4.1': input: Input should be greater"):
        PriceTable.from_json('{"gpt-4.1": {"input": -1, "output": 8}}')
    with pytest.raises(ValueError, match=r"bad prices for 'gpt-4.1': outptu: Extra inputs"):
        PriceTable.from_json('{"gpt-4.1": {"input": 2, "output": 8, "outptu": 8}}')


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("gpt-4o-mini", ModelRef("gpt-4o-mini", False)),
        ("GPT-4o-mini-2024-07-18", ModelRef("gpt-4o-mini", False)),
        ("gpt-4.1-mini-2025-04-14", ModelRef("gpt-4.1-mini", False)),
        ("gpt-3.5-turbo-0125", ModelRef("gpt-3.5-turbo", False)),
        ("ft:gpt-4o-mini-2024-07-18:org::abc", ModelRef("gpt-4o-mini", True)),
        ("ft:gpt-4o-mini-2024-07-18:org:voice-bot:abc123", ModelRef("gpt-4o-mini", True)),
        ("gpt-4o-mini-2024-07-18.ft-0e208cf33a6a4669", ModelRef("gpt-4o-mini", True)),
        ("gpt-4o-mini-audio-preview", ModelRef("gpt-4o-mini-audio-preview", False)),
    ],
)
def test_model_names_resolve_to_their_family(name, ref):
    assert resolve_model(name) == ref
