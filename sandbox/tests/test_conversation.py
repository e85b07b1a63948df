import json

import jsonschema
import pytest
from distillery_sandbox.workload import (
    classify_intent,
    default_knowledge_base,
    extract_slots,
    run_tool,
    teacher_answer,
    tool_definitions,
)

KB = default_knowledge_base()
SYSTEM = {"role": "system", "content": "You are the clinic's phone assistant."}


def chat(*user_lines: str) -> list[dict]:
    """A conversation where the teacher answers each line and its tool calls run."""
    messages = [SYSTEM]
    for line in user_lines:
        messages.append({"role": "user", "content": line})
        while True:
            answer = teacher_answer(KB, messages)
            messages.append(answer)
            if not answer.get("tool_calls"):
                break
            for call in answer["tool_calls"]:
                result = run_tool(KB, call["function"]["name"], call["function"]["arguments"])
                messages.append({"role": "tool", "tool_call_id": call["id"],
                                 "content": json.dumps(result)})
    return messages


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Hi, I'd like to book a blood test on Monday.", "booking"),
        ("Hello, do you have any appointments on Friday?", "booking"),
        ("Can I move my appointment to Thursday?", "rescheduling"),
        ("I can't make it tomorrow, please cancel booking LH-1234.", "cancelling"),
        ("How much is a skin check?", "prices"),
        ("Are you open on Saturday?", "opening_hours"),
        ("Do you take Laya Healthcare?", "insurance"),
        ("Where can I park when I visit?", "directions"),
        ("Great, thank you. Bye!", "goodbye"),
        ("11:30, please.", "other"),
    ],
)
def test_classifies_caller_turns_by_intent(text, intent):
    assert classify_intent(text) == intent


def test_extracts_the_longest_matching_service_and_the_other_slots():
    text = "I'll take 3pm on Wednesday for a dental check-up, it's for Aoife O'Brien, ref lh-4821"
    slots = extract_slots(KB, text)
    assert slots.service.key == "dental_checkup"
    assert (slots.weekday, slots.time) == ("wednesday", "15:00")
    assert slots.patient_name == "Aoife O'Brien"
    assert slots.reference == "LH-4821"


def test_a_redacted_name_is_still_the_name_the_caller_gave():
    # The cleaner's placeholder: the teacher reading a redacted transcript books under it.
    assert extract_slots(KB, "11:30 works for me. My name is <PERSON>.").patient_name == "<PERSON>"
    assert extract_slots(KB, "It's for <PHONE>.").patient_name is None


def test_price_answers_quote_the_knowledge_base():
    answer = teacher_answer(KB, [SYSTEM, {"role": "user", "content": "How much is a dental cleaning?"}])
    assert "€85" in answer["content"]
    assert answer["role"] == "assistant"


def test_says_the_clinic_is_closed_on_sunday():
    answer = teacher_answer(KB, [SYSTEM, {"role": "user", "content": "Are you open on Sunday?"}])
    assert "closed" in answer["content"].lower()


def test_booking_checks_availability_then_books_the_chosen_slot():
    messages = chat("Hi, I'd like to book a physiotherapy session on Tuesday.")
    check = messages[2]["tool_calls"][0]["function"]
    assert check["name"] == "check_availability"
    assert json.loads(check["arguments"]) == {"service": "physiotherapy_session", "weekday": "tuesday"}
    offered = json.loads(messages[3]["content"])["slots"]
    assert all(slot in messages[4]["content"] for slot in offered)

    messages = chat("Hi, I'd like to book a physiotherapy session on Tuesday.",
                    f"{offered[1]} works for me. My name is Sean Walsh.")
    booking = messages[-3]["tool_calls"][0]["function"]
    arguments = json.loads(booking["arguments"])
    assert booking["name"] == "book_appointment"
    assert arguments["time"] == offered[1] and arguments["patient_name"] == "Sean Walsh"
    reference = json.loads(messages[-2]["content"])["reference"]
    assert reference in messages[-1]["content"]


def test_tool_call_arguments_satisfy_the_declared_tool_schemas():
    messages = chat("Hi, I'd like to book a skin check on Thursday.", "09:30 is fine, the name is Emma Ryan.")
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tool_definitions(KB)}
    calls = [c for m in messages for c in m.get("tool_calls") or []]
    assert calls
    for call in calls:
        jsonschema.validate(json.loads(call["function"]["arguments"]), schemas[call["function"]["name"]])


def test_asks_for_what_is_missing_before_booking():
    messages = chat("Hello, can I make an appointment?")
    assert "?" in messages[-1]["content"]
    assert "tool_calls" not in messages[-1]


def test_same_conversation_gets_the_same_answer_and_different_ones_vary_in_wording():
    question = [SYSTEM, {"role": "user", "content": "When are you open?"}]
    assert teacher_answer(KB, question) == teacher_answer(KB, question)
    openings = {
        teacher_answer(KB, [{"role": "system", "content": f"prompt {i}"}, question[1]])["content"].split()[0]
        for i in range(40)
    }
    assert len(openings) >= 2


def test_without_tools_the_teacher_consults_the_booking_system_itself():
    messages = [SYSTEM, {"role": "user", "content": "Can I book a blood test on Monday?"}]
    answer = teacher_answer(KB, messages, use_tools=False)
    slots = run_tool(KB, "check_availability", {"service": "blood_test", "weekday": "monday"})["slots"]
    assert "tool_calls" not in answer
    assert all(slot in answer["content"] for slot in slots)


def test_cancelling_confirms_with_the_reference_the_caller_gave():
    messages = chat("Hi, I need to cancel my appointment.", "Sure, it's LH-7731.")
    assert "LH-7731" in messages[-1]["content"]


def test_booking_system_reports_bad_requests_as_errors_the_model_can_read():
    assert "error" in run_tool(KB, "cancel_everything", {})
    assert "error" in run_tool(KB, "check_availability", "{not json")
    unknown = run_tool(KB, "check_availability", {"service": "x-ray", "weekday": "monday"})
    assert "unknown service" in unknown["error"]
    closed = run_tool(KB, "check_availability", {"service": "blood_test", "weekday": "sunday"})
    assert closed["available"] is False and "closed" in closed["reason"]


def test_an_empty_conversation_is_refused():
    with pytest.raises(ValueError, match="at least one message"):
        teacher_answer(KB, [])
