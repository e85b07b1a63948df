"""One test per rule on tools, tool calls and size: a file that breaks it, and the exact error.

Every file holds ten valid examples with the broken one inserted (at line 4 unless the
test says otherwise), so each test also shows that only the broken line is reported.
"""

from dataset_examples import assistant, example, user

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def call(call_id: str = "call_1", name: str = "get_weather", arguments: str = '{"city": "Rome"}') -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool_reply(call_id: str = "call_1", text: str = "18 C, sunny") -> dict:
    return {"role": "tool", "tool_call_id": call_id, "content": text}


def with_tools(*messages: dict) -> dict:
    return example(*messages, tools=[WEATHER_TOOL])


# --- tools and tool calls ----------------------------------------------------------


def test_tools_must_be_a_list(errors_of):
    assert errors_of(example(user(), assistant(), tools=WEATHER_TOOL)) == [
        'line 4: "tools" must be a list of tool definitions, got an object'
    ]


def test_a_tool_must_be_of_type_function(errors_of):
    tool = {"type": "retrieval", "function": WEATHER_TOOL["function"]}
    assert errors_of(example(user(), assistant(), tools=[tool])) == [
        'line 4: tool 1 has type "retrieval"; expected "function"'
    ]


def test_a_tool_name_must_match_the_allowed_pattern(errors_of):
    tool = {"type": "function", "function": {"name": "get weather"}}
    assert errors_of(example(user(), assistant(), tools=[tool])) == [
        'line 4: tool 1 has name "get weather"; names must match ^[a-zA-Z0-9_-]{1,64}$'
    ]


def test_a_tool_name_may_not_be_declared_twice(errors_of):
    assert errors_of(example(user(), assistant(), tools=[WEATHER_TOOL, WEATHER_TOOL])) == [
        'line 4: tool 2 repeats the name "get_weather"'
    ]


def test_tool_parameters_must_be_an_object_schema(errors_of):
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "string"}}}
    assert errors_of(example(user(), assistant(), tools=[tool])) == [
        'line 4: tool 1 ("get_weather") parameters must be a JSON Schema object with "type": "object"'
    ]


def test_parallel_tool_calls_must_be_a_boolean(errors_of):
    assert errors_of(example(user(), assistant(), parallel_tool_calls="no")) == [
        'line 4: "parallel_tool_calls" must be true or false, got a string'
    ]


def test_tool_calls_must_be_a_non_empty_list(errors_of):
    assert errors_of(with_tools(user(), assistant("ok", tool_calls=[]))) == [
        'line 4: message 2 (assistant) "tool_calls" must be a non-empty list, got an empty list'
    ]


def test_a_tool_call_must_name_a_declared_tool(errors_of):
    broken = with_tools(user(), assistant(None, tool_calls=[call(name="get_wether")]))
    assert errors_of(broken) == [
        'line 4: tool call 1 of message 2 calls "get_wether", which is not declared in "tools" (declared: get_weather)'
    ]


def test_a_tool_call_without_any_tools_declared_is_rejected(errors_of):
    assert errors_of(example(user(), assistant(None, tool_calls=[call()]))) == [
        'line 4: tool call 1 of message 2 calls "get_weather", but the example declares no "tools"'
    ]


def test_tool_call_arguments_must_be_json(errors_of):
    broken = with_tools(user(), assistant(None, tool_calls=[call(arguments="{city: Rome}")]))
    assert errors_of(broken) == [
        "line 4: tool call 1 of message 2 arguments are not valid JSON: "
        "Expecting property name enclosed in double quotes at column 2"
    ]


def test_tool_call_arguments_must_be_a_json_object(errors_of):
    broken = with_tools(user(), assistant(None, tool_calls=[call(arguments='["Rome"]')]))
    assert errors_of(broken) == [
        "line 4: tool call 1 of message 2 arguments must be a JSON object, got a list"
    ]


def test_a_tool_call_needs_an_id(errors_of):
    no_id = {"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    assert errors_of(with_tools(user(), assistant(None, tool_calls=[no_id]))) == [
        'line 4: tool call 1 of message 2 has no "id" (a non-empty string)'
    ]


def test_tool_call_ids_are_unique_within_a_message(errors_of):
    broken = with_tools(user(), assistant(None, tool_calls=[call("c1"), call("c1")]))
    assert errors_of(broken) == ['line 4: tool call 2 of message 2 repeats the id "c1"']


def test_a_tool_message_needs_a_tool_call_id(errors_of):
    broken = with_tools(
        user(), assistant(None, tool_calls=[call()]), {"role": "tool", "content": "18 C"}, assistant()
    )
    assert errors_of(broken) == [
        'line 4: message 3 (tool) has no "tool_call_id" (a non-empty string)',
        'line 4: tool call "call_1" of message 2 has no tool response before message 4 (assistant)',
    ]


def test_a_tool_message_must_follow_an_assistant_tool_call(errors_of):
    assert errors_of(with_tools(user(), tool_reply(), assistant())) == [
        "line 4: message 2 (tool) does not follow an assistant message with tool_calls"
    ]


def test_a_tool_message_must_answer_a_call_the_assistant_made(errors_of):
    broken = with_tools(
        user(), assistant(None, tool_calls=[call("call_1")]), tool_reply("call_1"), tool_reply("call_9")
    )
    assert errors_of(broken) == [
        'line 4: message 4 (tool) answers tool call "call_9", which the assistant did not just make (its calls: "call_1")'
    ]


def test_a_tool_call_is_answered_only_once(errors_of):
    broken = with_tools(user(), assistant(None, tool_calls=[call()]), tool_reply(), tool_reply(), assistant())
    assert errors_of(broken) == ['line 4: message 4 (tool) answers tool call "call_1" a second time']


def test_every_tool_call_is_answered_before_the_conversation_moves_on(errors_of):
    broken = with_tools(
        user(), assistant(None, tool_calls=[call("c1"), call("c2")]), tool_reply("c1"), user()
    )
    assert errors_of(broken) == [
        'line 4: tool call "c2" of message 2 has no tool response before message 4 (user)'
    ]


# --- size --------------------------------------------------------------------------


def test_an_example_over_the_models_token_limit_is_rejected(errors_of):
    # "hello" followed by " hello" 65,535 times: one token each, 65,536 tokens of content,
    # plus 3 (priming) + 3 + 1 (user framing, role) + 3 + 1 + 2 (assistant) = 65,549.
    long_text = "hello" + " hello" * 65_535
    assert errors_of(example(user(long_text), assistant())) == [
        "line 4: example has 65,549 tokens; gpt-4o-mini allows at most 65,536 per example"
    ]
