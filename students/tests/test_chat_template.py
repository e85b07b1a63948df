from __future__ import annotations

import json
from importlib.resources import files

import pytest

from distillery_students.domain.chat_template import TemplateError, parse_completion, render

TEMPLATE_JINJA = files("distillery_students.domain").joinpath("chat_template.jinja").read_text()


def test_renders_chatml_with_tools_in_the_system_message(tool_conversation):
    text = render(tool_conversation["messages"], tool_conversation["tools"]).text

    assert text.startswith("<|im_start|>system\nYou answer the phone for Bright Smile.\n\n# Tools\n")
    assert json.dumps(tool_conversation["tools"][0]) in text
    assert ('<|im_start|>assistant\n<tool_call>\n{"name": "book_appointment", "arguments": {"day": "Monday"}}'
            "\n</tool_call><|im_end|>\n") in text
    assert '<|im_start|>tool\n{"booked": true}<|im_end|>\n' in text
    assert text.endswith("<|im_start|>assistant\nGoodbye!<|im_end|>\n")


def test_adds_a_system_message_for_tools_when_there_is_none():
    text = render([{"role": "user", "content": "hi"}], [{"type": "function", "function": {"name": "f"}}]).text
    assert text.startswith("<|im_start|>system\n# Tools\n")


def test_spans_cover_each_message_and_only_learned_answers(tool_conversation):
    rendered = render(tool_conversation["messages"], tool_conversation["tools"])
    learned = [rendered.text[start:end] for start, end in rendered.loss_spans]

    assert learned == [
        '<tool_call>\n{"name": "book_appointment", "arguments": {"day": "Monday"}}\n</tool_call><|im_end|>',
        "Goodbye!<|im_end|>",
    ]
    assert [span.role for span in rendered.messages] == [m["role"] for m in tool_conversation["messages"]]
    assert rendered.messages[-1].end == len(rendered.text)


def test_generation_prompt_opens_an_assistant_turn():
    assert render([{"role": "user", "content": "hi"}], add_generation_prompt=True).text.endswith(
        "<|im_start|>assistant\n")


@pytest.mark.parametrize(("messages", "reason"), [
    ([{"role": "narrator", "content": "x"}], 'message 1 has role "narrator"'),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
     'message 1 (user) has a "image_url" content part'),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": "not json"}}]}],
     "message 2 (assistant) calls f with arguments that are not a JSON object"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}],
     "message 2 (assistant) has no text content"),
    ([], '"messages" must be a non-empty list'),
])
def test_refuses_what_it_cannot_render_naming_the_message(messages, reason):
    with pytest.raises(TemplateError, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        render(messages)


def test_text_content_parts_are_joined():
    text = render([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]).text
    assert text == "<|im_start|>user\nab<|im_end|>\n"


@pytest.mark.parametrize("generation_prompt", [False, True])
def test_the_jinja_template_for_vllm_renders_the_same_text(tool_conversation, generation_prompt):
    from transformers.utils.chat_template_utils import render_jinja_template

    conversations = [
        tool_conversation,
        {"messages": [{"role": "user", "content": "How much is a cleaning?"}], "tools": None},
        {"messages": [{"role": "user", "content": "Book me"}, {"role": "assistant", "content": "Sure.",
                      "tool_calls": [{"type": "function", "function": {"name": "a", "arguments": {"x": 1}}},
                                     {"type": "function", "function": {"name": "b", "arguments": "{}"}}]}],
         "tools": [{"type": "function", "function": {"name": "a"}}, {"type": "function", "function": {"name": "b"}}]},
    ]
    for conversation in conversations:
        expected = render(conversation["messages"], conversation["tools"],
                          add_generation_prompt=generation_prompt).text
        rendered, _ = render_jinja_template([conversation["messages"]], tools=conversation["tools"],
                                            chat_template=TEMPLATE_JINJA, add_generation_prompt=generation_prompt)
        assert rendered[0] == expected


def test_reads_tool_calls_back_from_generated_text():
    parsed = parse_completion('Let me book it.\n<tool_call>\n{"name": "book", "arguments": {"day": "Mon"}}\n</tool_call>')
    assert parsed.content == "Let me book it."
    assert [(call.name, json.loads(call.arguments)) for call in parsed.tool_calls] == [("book", {"day": "Mon"})]


def test_a_malformed_tool_call_stays_in_the_content():
    parsed = parse_completion("<tool_call>\n{not json}\n</tool_call>")
    assert parsed.tool_calls == ()
    assert parsed.content == "<tool_call>\n{not json}\n</tool_call>"


def test_plain_text_is_all_content():
    assert parse_completion(" A cleaning is $120. ").content == "A cleaning is $120."
