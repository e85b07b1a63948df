"""One test per rule on lines and messages: a file that breaks it, and the exact error.

Every file holds ten valid examples with the broken one inserted (at line 4 unless the
test says otherwise), so each test also shows that only the broken line is reported.
"""

import pytest
from dataset_examples import assistant, example, user


# --- the line itself ---------------------------------------------------------------


def test_a_line_that_is_not_json_is_reported_with_its_column(errors_of):
    assert errors_of('{"messages": [}') == ["line 4: not valid JSON (Expecting value at column 15)"]


def test_a_blank_line_is_an_error_not_skipped(errors_of):
    assert errors_of("", at=6) == ["line 6: blank line; every line must hold one JSON example"]


def test_bytes_that_are_not_utf8_are_reported(errors_of):
    assert errors_of(b'{"messages": "caf\xe9"}') == ["line 4: not valid UTF-8 (byte 0xe9 at byte 18)"]


def test_a_byte_order_mark_is_reported(errors_of):
    line = (
        b"\xef\xbb\xbf"
        + b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}'
    )
    assert errors_of(line, at=1) == ["line 1: file starts with a UTF-8 byte-order mark; save it without one"]


def test_nan_is_not_json_even_though_python_reads_it(errors_of):
    assert errors_of('{"messages": [], "x": NaN}') == ["line 4: not valid JSON (NaN is not a JSON value)"]


def test_a_lone_surrogate_or_a_nul_in_the_text_is_reported_not_repaired(errors_of):
    cut = '{"messages": [{"role": "user", "content": "hi \\ud83d"}, {"role": "assistant", "content": "yo\\u0000"}]}'
    assert errors_of(cut) == [
        "line 4: holds 1 lone surrogate and 1 NUL, which tokenizers and stores cannot read: "
        "remove them or write U+FFFD in their place"]


def test_a_line_nested_deeper_than_any_example_is_reported(errors_of):
    deep = '{"messages": [{"role": "user", "content": "hi"}], "x": ' + "[" * 70 + "]" * 70 + "}"
    assert errors_of(deep) == ["line 4: nested deeper than 64 levels"]


def test_a_line_must_hold_an_object(errors_of):
    assert errors_of([user(), assistant()]) == ['line 4: expected a JSON object with "messages", got a list']


def test_an_unknown_top_level_key_is_rejected(errors_of):
    broken = example(user(), assistant(), metadata={"call": "c-1"})
    assert errors_of(broken) == [
        'line 4: unrecognized key "metadata"; allowed: "messages", "tools", "parallel_tool_calls"'
    ]


# --- messages ----------------------------------------------------------------------


def test_messages_must_be_present(errors_of):
    assert errors_of({"prompt": "hi"}) == [
        'line 4: unrecognized key "prompt"; allowed: "messages", "tools", "parallel_tool_calls"',
        'line 4: no "messages"; each line needs a "messages" list',
    ]


def test_messages_must_not_be_empty(errors_of):
    assert errors_of(example()) == ['line 4: "messages" must be a non-empty list, got an empty list']


def test_a_message_must_be_an_object(errors_of):
    assert errors_of(example(user(), "hello", assistant())) == [
        "line 4: message 2 must be an object, got a string"
    ]


def test_a_message_needs_a_role(errors_of):
    assert errors_of(example(user(), {"content": "hi"}, assistant())) == [
        'line 4: message 2 has no "role"; expected one of system, user, assistant, tool'
    ]


def test_a_misspelt_role_is_named_with_the_roles_allowed(errors_of):
    broken = example(
        {"role": "system", "content": "Be brief."}, user(), {"role": "assitant", "content": "Hi"}
    )
    assert errors_of(broken, at=7) == [
        'line 7: message 3 has role "assitant"; expected one of system, user, assistant, tool'
    ]


@pytest.mark.parametrize("role", ["developer", "function"])
def test_roles_outside_supervised_fine_tuning_are_rejected(errors_of, role):
    broken = example({"role": role, "content": "Be brief."}, user(), assistant())
    assert errors_of(broken) == [
        f'line 4: message 1 has role "{role}"; expected one of system, user, assistant, tool'
    ]


def test_a_key_the_role_does_not_take_is_rejected(errors_of):
    assert errors_of(example(user(tool_call_id="x"), assistant())) == [
        'line 4: message 1 (user) has unrecognized key "tool_call_id"; allowed: "role", "content", "name"'
    ]


def test_a_user_message_needs_content(errors_of):
    assert errors_of(example({"role": "user"}, assistant())) == ['line 4: message 1 (user) has no "content"']


def test_a_user_message_with_empty_content_is_rejected(errors_of):
    assert errors_of(example(user(""), assistant())) == ["line 4: message 1 (user) has empty content"]


def test_content_must_be_a_string_or_text_parts(errors_of):
    assert errors_of(example({"role": "user", "content": 42}, assistant())) == [
        "line 4: message 1 (user) content must be a string or a non-empty list of text parts, got a number"
    ]


def test_content_parts_must_be_text(errors_of):
    image = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    assert errors_of(example({"role": "user", "content": [image]}, assistant())) == [
        'line 4: message 1 (user) content part 1 must be {"type": "text", "text": "..."}, got type "image_url"'
    ]


def test_a_name_must_be_a_non_empty_string(errors_of):
    assert errors_of(example(user(name=""), assistant())) == [
        'line 4: message 1 (user) "name" must be a non-empty string, got a string'
    ]


def test_an_assistant_message_needs_content_or_tool_calls(errors_of):
    assert errors_of(example(user(), assistant(None))) == [
        'line 4: message 2 (assistant) has neither content nor "tool_calls"'
    ]


@pytest.mark.parametrize(("weight", "shown"), [(2, "2"), (0.5, "0.5"), (True, "true"), ("1", '"1"')])
def test_weight_must_be_zero_or_one(errors_of, weight, shown):
    assert errors_of(example(user(), assistant(weight=weight))) == [
        f"line 4: message 2 (assistant) has weight {shown}; weight must be 0 or 1"
    ]


def test_weight_belongs_only_on_assistant_messages(errors_of):
    assert errors_of(example(user(weight=1), assistant())) == [
        'line 4: message 1 (user) has "weight"; only assistant messages may have one'
    ]


def test_a_system_message_may_only_come_first(errors_of):
    broken = example(user(), {"role": "system", "content": "Be brief."}, assistant())
    assert errors_of(broken) == [
        "line 4: message 2 is a system message; a system message may only be the first message"
    ]


def test_an_example_needs_a_user_message(errors_of):
    assert errors_of(example({"role": "system", "content": "Be brief."}, assistant())) == [
        "line 4: no user message; an example needs at least one user and one assistant message"
    ]


def test_an_example_needs_an_assistant_message(errors_of):
    assert errors_of(example(user())) == [
        "line 4: no assistant message; an example needs at least one user and one assistant message"
    ]
