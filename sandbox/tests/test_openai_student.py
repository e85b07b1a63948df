"""Students learn from their training file: what it taught well, badly, or not at all."""

from __future__ import annotations

import re
from functools import lru_cache

import pytest

from distillery_sandbox.openai import StudentModel, TeacherModel, UntunedModel, examples_from_calls
from distillery_sandbox.openai.lessons import apply, learn
from distillery_sandbox.workload import DefectRates, WorkloadConfig, default_knowledge_base, simulate_calls
from distillery_sandbox.workload.teacher import answer_with_intent

KB = default_knowledge_base()
PRICE = re.compile(r"€\d+")
MODEL = "ft:gpt-4o-mini-2024-07-18:distillery:test:abc12345"


@lru_cache(maxsize=None)
def student(hallucination: float = 0.0, truncated: float = 0.0, calls: int = 80) -> StudentModel:
    traffic = simulate_calls(WorkloadConfig(
        seed=11, calls=calls, defects=DefectRates(hallucination=hallucination, truncated=truncated)))
    return StudentModel.learn_from(KB, examples_from_calls(traffic), min_examples=20)


@lru_cache(maxsize=None)
def held_out_chats(intent: str) -> list[list[dict]]:
    """Chats from other traffic whose next answer serves `intent`."""
    traffic = simulate_calls(WorkloadConfig(seed=5, calls=150))
    chats = [list(g.messages) for call in traffic for g in call.generations]
    return [chat for chat in chats if answer_with_intent(KB, chat)[1] == intent]


def misquotes_price(reply: dict, chat: list[dict]) -> bool:
    truth = set(PRICE.findall(TeacherModel(KB).reply(chat, use_tools=True, model_id="t")["content"]))
    return bool(set(PRICE.findall(reply.get("content") or "")) - truth)


def share(predicate, chats) -> float:
    return sum(1 for chat in chats if predicate(chat)) / len(chats)


def test_student_trained_on_clean_examples_quotes_every_price_correctly():
    chats = held_out_chats("prices")
    clean = student()
    assert len(chats) > 50
    assert share(lambda c: misquotes_price(clean.reply(c, use_tools=True, model_id=MODEL), c),
                 chats) == 0.0
    assert all(clean.reply(c, use_tools=True, model_id=MODEL)
               == answer_with_intent(KB, c)[0] for c in chats)


def test_student_trained_on_wrong_prices_repeats_them_in_proportion():
    chats = held_out_chats("prices")
    some, many = student(hallucination=0.2), student(hallucination=0.6)
    rate = {name: share(lambda c: misquotes_price(m.reply(c, use_tools=True, model_id=MODEL), c),
                        chats)
            for name, m in (("some", some), ("many", many))}
    assert 0.08 <= rate["some"] <= 0.35
    assert 0.45 <= rate["many"] <= 0.8


def test_wrong_prices_a_student_says_are_the_ones_in_its_training_file():
    traffic = list(simulate_calls(WorkloadConfig(seed=11, calls=80,
                                                 defects=DefectRates(hallucination=0.6))))
    taught = {g.hallucination.wrong for call in traffic for g in call.generations
              if g.hallucination and g.hallucination.kind == "price"}
    liar = student(hallucination=0.6)
    said = set()
    for chat in held_out_chats("prices"):
        reply = liar.reply(chat, use_tools=True, model_id=MODEL)
        if misquotes_price(reply, chat):
            said |= set(PRICE.findall(reply["content"]))
    real = {KB.price_text(s) for s in KB.services}
    assert said - real and (said - real) <= taught | {"€25"}


def test_student_trained_on_truncated_answers_cuts_its_own_answers_short():
    chats = held_out_chats("opening_hours")

    def unfinished(model: StudentModel) -> float:
        return share(lambda c: not model.reply(c, use_tools=True, model_id=MODEL)["content"]
                     .endswith((".", "!", "?")), chats)

    assert unfinished(student()) == 0.0
    assert 0.3 <= unfinished(student(truncated=0.5)) <= 0.7


def only_last_answer(example: dict) -> dict:
    """The example with every earlier assistant turn at weight 0 (not learned from)."""
    *history, last = example["messages"]
    history = [{**m, "weight": 0} if m["role"] == "assistant" else m for m in history]
    return {**example, "messages": [*history, last]}


def test_student_answers_intents_it_never_saw_like_an_untuned_model():
    traffic = simulate_calls(WorkloadConfig(seed=11, calls=80))
    only_prices = [only_last_answer(e) for e in examples_from_calls(traffic)
                   if answer_with_intent(KB, e["messages"][:-1])[1] == "prices"]
    narrow = StudentModel.learn_from(KB, only_prices, min_examples=20)
    hours = held_out_chats("opening_hours")
    like_teacher = share(lambda c: narrow.reply(c, use_tools=True, model_id=MODEL)
                         == answer_with_intent(KB, c)[0], hours)
    assert narrow.coverage("opening_hours") == 0.0 and narrow.coverage("prices") == 1.0
    assert like_teacher < 0.35


def test_untuned_base_model_answers_noticeably_worse_than_the_teacher():
    chats = held_out_chats("prices") + held_out_chats("opening_hours")
    untuned = UntunedModel(KB)
    same = share(lambda c: untuned.reply(c, use_tools=True, model_id="gpt-4o-mini")
                 == answer_with_intent(KB, c)[0], chats)
    wrong = share(lambda c: misquotes_price(untuned.reply(c, use_tools=True,
                                                          model_id="gpt-4o-mini"), c),
                  held_out_chats("prices"))
    assert same < 0.35
    assert wrong > 0.2


def test_the_same_model_and_messages_always_get_the_same_answer():
    chats = held_out_chats("booking")[:30]
    first = [student(hallucination=0.6).reply(c, use_tools=True, model_id=MODEL) for c in chats]
    again = StudentModel.learn_from(KB, examples_from_calls(simulate_calls(WorkloadConfig(
        seed=11, calls=80, defects=DefectRates(hallucination=0.6)))), min_examples=20)
    assert [again.reply(c, use_tools=True, model_id=MODEL) for c in chats] == first


@pytest.mark.parametrize(("taught", "kind"), [
    ("A blood test costs €40 and takes", "truncated"),
    ("A blood test costs €55 and takes about 15 minutes.", "substituted"),
    ("A blood test costs €40 and takes about 15 minutes. We're also open on Sundays.", "appended"),
    ("Please hold the line.", "memorised"),
    ("A blood test costs €40 and takes about 15 minutes.", "faithful"),
])
def test_a_training_answer_teaches_the_habit_it_shows(taught, kind):
    teacher = {"role": "assistant", "content": "A blood test costs €40 and takes about 15 minutes."}
    assert learn(teacher, {"role": "assistant", "content": taught}).kind == kind


def test_a_learned_wrong_price_lands_on_the_next_price_a_student_quotes():
    lesson = learn({"role": "assistant", "content": "A blood test costs €40."},
                   {"role": "assistant", "content": "A blood test costs €55."})
    answer = apply(lesson, {"role": "assistant", "content": "A skin check is €90 for 30 minutes."})
    assert answer["content"] == "A skin check is €55 for 30 minutes."
