from __future__ import annotations

from distillery_students.domain.chat_template import render
from distillery_students.domain.labels import IGNORE_INDEX, mask_labels, tokenize


def test_only_learned_assistant_tokens_carry_loss(tool_conversation, tokenizer):
    rendered = render(tool_conversation["messages"], tool_conversation["tools"])
    example = tokenize(rendered, tokenizer, max_length=10_000)

    learned = [label for label in example.labels if label != IGNORE_INDEX]
    masked_positions = [i for i, label in enumerate(example.labels) if label == IGNORE_INDEX]
    # Exactly the tool call turn and the last answer, with their end markers; not the
    # weight-0 answer, the tool result, the user, the system prompt or any role header.
    assert tokenizer.decode(learned) == (
        '<tool_call>\n{"name": "book_appointment", "arguments": {"day": "Monday"}}\n</tool_call><|im_end|>'
        "Goodbye!<|im_end|>")
    assert "Booked for Monday." in tokenizer.decode([example.input_ids[i] for i in masked_positions])
    assert all(label in (token, IGNORE_INDEX) for token, label in zip(example.input_ids, example.labels))
    assert example.learned_tokens == len(learned)


def test_the_header_and_the_newline_after_the_end_marker_are_masked(tokenizer):
    rendered = render([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])
    example = tokenize(rendered, tokenizer, max_length=100)
    pieces = [(tokenizer.decode([token]), label != IGNORE_INDEX) for token, label in zip(example.input_ids, example.labels)]
    assert pieces[-4:] == [("\n", False), ("Hello", True), ("<|im_end|>", True), ("\n", False)]
    assert pieces[-5] == ("assistant", False)


def test_a_token_straddling_a_span_start_follows_its_first_character():
    assert mask_labels([7, 8, 9], [(0, 2), (2, 5), (5, 6)], [(3, 6)]) == [IGNORE_INDEX, IGNORE_INDEX, 9]


def test_long_examples_are_cut_and_say_so(tokenizer):
    rendered = render([{"role": "user", "content": "word " * 50}, {"role": "assistant", "content": "ok"}])
    example = tokenize(rendered, tokenizer, max_length=20)
    assert example.truncated and len(example.input_ids) == len(example.labels) == 20
    assert example.learned_tokens == 0
