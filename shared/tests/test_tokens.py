import bpe_openai
import pytest

from distillery_runtime.tokens import (
    UnknownModelError,
    count_example_tokens,
    tokenizer_for,
)

# 15 tokens on o200k_base: reply priming 3, then per message 3 framing + 1 for the role
# ("user" and "assistant" are one token each) + 2 for "hello world".
HELLO = {
    "messages": [{"role": "user", "content": "hello world"}, {"role": "assistant", "content": "hello world"}]
}
HELLO_TOKENS = 15

# Examples from OpenAI's cookbook "How to count tokens with tiktoken", where the API's own
# prompt_tokens for gpt-4o-mini are printed beside the recipe's count: 124 and 101.
JARGON_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]
WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {
                        "type": "string",
                        "description": "The city and state, e.g. San Francisco, CA",
                    },
                    "unit": {
                        "type": "string",
                        "description": "The unit of temperature to return",
                        "enum": ["celsius", "fahrenheit"],
                    },
                },
                "required": ["location"],
            },
        },
    }
]
WEATHER_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful assistant that can answer to questions about the weather.",
    },
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("hello world", 2),
        ("antidisestablishmentarianism", 6),  # ant|idis|est|ablishment|arian|ism
        ("2 + 2 = 4", 7),  # digits and spaces split apart in o200k_base
        ("お誕生日おめでとう", 8),
        ("", 0),
    ],
)
def test_text_counts_match_o200k_base(text, tokens):
    assert tokenizer_for("gpt-4o-mini").count(text) == tokens


def test_special_token_look_alikes_in_content_count_as_plain_text():
    # "<|endoftext|>" typed by a caller is text to the API, not the special token.
    assert tokenizer_for("gpt-4o-mini").count("<|endoftext|>") == 7


def test_the_fast_path_agrees_with_the_public_tiktoken_compatible_api():
    public = bpe_openai.get_encoding("o200k_base")
    ours = tokenizer_for("gpt-4.1")
    for text in [
        "Hello, I'd like a table for two at 7:30pm.",
        "Préférez-vous le menu végétarien ?",
        "  \n\t x",
    ]:
        assert ours.count(text) == len(public.encode_ordinary(text))


def test_a_lone_surrogate_is_counted_instead_of_crashing():
    assert tokenizer_for("gpt-4o-mini").count("a\ud800b") == tokenizer_for("gpt-4o-mini").count("a\ufffdb")


def test_a_two_message_example_costs_framing_role_and_content():
    assert count_example_tokens(HELLO, "gpt-4o-mini") == HELLO_TOKENS


def test_names_on_messages_match_what_the_api_bills():
    assert count_example_tokens({"messages": JARGON_MESSAGES}, "gpt-4o-mini") == 124


def test_tool_definitions_match_what_the_api_bills():
    example = {"messages": WEATHER_MESSAGES, "tools": WEATHER_TOOLS}
    assert count_example_tokens(example, "gpt-4o-mini-2024-07-18") == 101


def test_cl100k_models_use_their_own_encoding_and_overheads():
    # Same cookbook examples, as the API billed them on gpt-4.
    assert count_example_tokens({"messages": JARGON_MESSAGES}, "gpt-4-0613") == 129
    assert count_example_tokens({"messages": WEATHER_MESSAGES, "tools": WEATHER_TOOLS}, "gpt-4") == 105


def test_content_given_as_text_parts_counts_like_the_same_string():
    parts = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "hello"}, {"type": "text", "text": " world"}],
            },
            {"role": "assistant", "content": "hello world"},
        ]
    }
    assert count_example_tokens(parts, "gpt-4o-mini") == HELLO_TOKENS


def test_an_assistant_tool_call_adds_its_name_and_arguments():
    plain = {"messages": [{"role": "user", "content": "hello world"}, {"role": "assistant", "content": None}]}
    with_call = {
        "messages": [
            {"role": "user", "content": "hello world"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
                ],
            },
        ]
    }
    tokenizer = tokenizer_for("gpt-4o-mini")
    extra = count_example_tokens(with_call, "gpt-4o-mini") - count_example_tokens(plain, "gpt-4o-mini")
    assert extra == tokenizer.chat_format.tokens_per_tool_call + tokenizer.count("lookup") + tokenizer.count(
        "{}"
    )


def test_many_examples_are_counted_in_order():
    longer = {"messages": HELLO["messages"] + [{"role": "user", "content": "hello world"}]}
    assert tokenizer_for("gpt-4o-mini").count_examples([HELLO, longer, HELLO]) == [15, 21, 15]


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "ft:gpt-4o-mini-2024-07-18:org::abc",
        "gpt-4o",
        "gpt-4.1-2025-04-14",
    ],
)
def test_gpt_4o_and_gpt_4_1_families_share_o200k_base(model):
    assert tokenizer_for(model).encoding == "o200k_base"


def test_an_unknown_model_family_is_a_clear_error():
    with pytest.raises(
        UnknownModelError, match=r"no tokenizer for model 'claude-3-haiku' \(family 'claude-3-haiku'\); known: gpt-3.5"
    ):
        tokenizer_for("claude-3-haiku")
