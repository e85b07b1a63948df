"""A fine-tuned student that learned from the file it was trained on.

For each assistant answer it was trained on (weight 1), the student files the lesson that
answer teaches under the intent of its context. Asked something, it works out what the
teacher would say and then behaves like a training answer of the same intent, picked
deterministically: so it repeats its training data's habits (wrong prices, cut answers,
memorised oddities) in the proportion the file had them. Intents seen fewer than
`min_examples` times are answered, in proportion to the shortfall, like an untuned model.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from distillery_sandbox.openai.chat_models import draw, untuned_answer
from distillery_sandbox.openai.lessons import Lesson, apply, known_values, learn
from distillery_sandbox.workload import KnowledgeBase
from distillery_sandbox.workload.teacher import answer_with_intent

Message = dict[str, Any]


@dataclass(frozen=True)
class StudentSummary:
    """What a training file taught: answers per intent and habits per kind."""

    answers_per_intent: dict[str, int]
    lessons_per_kind: dict[str, int]

    @property
    def answers(self) -> int:
        return sum(self.answers_per_intent.values())

    @property
    def defect_share(self) -> float:
        """Share of training answers that teach something other than the teacher's answer."""
        defective = sum(n for kind, n in self.lessons_per_kind.items() if kind != "faithful")
        return defective / self.answers if self.answers else 0.0


@dataclass
class StudentModel:
    """A fine-tuned model's behaviour; build it with `learn_from`."""

    kb: KnowledgeBase
    lessons: dict[str, list[Lesson]]
    min_examples: int
    sample_step: int = 1
    kind: str = field(default="student", init=False)

    @classmethod
    def learn_from(cls, kb: KnowledgeBase, examples: Iterable[dict[str, Any]],
                   min_examples: int = 20, max_answers: int = 20_000) -> StudentModel:
        """Learn from chat fine-tuning examples (the parsed lines of a training file).

        Past `max_answers` trainable answers, an evenly spread sample stands for the rest
        (the proportions of habits are what matter, and they survive sampling).
        """
        answers = [
            (example, index)
            for example in examples
            for index, message in enumerate(example["messages"])
            if message.get("role") == "assistant" and message.get("weight", 1) == 1
            and any(m.get("role") == "user" for m in example["messages"][:index])
        ]
        step = max(1, math.ceil(len(answers) / max_answers))
        lessons: dict[str, list[Lesson]] = {}
        known = known_values(text for fact in kb.all_facts() for text in (fact.text, str(fact.value)))
        for example, index in answers[::step]:
            context = example["messages"][:index]
            teacher, intent = answer_with_intent(kb, context, use_tools=bool(example.get("tools")))
            lessons.setdefault(intent, []).append(learn(teacher, example["messages"][index], known))
        return cls(kb, lessons, min_examples, sample_step=step)

    def summary(self) -> StudentSummary:
        kinds: Counter[str] = Counter(
            lesson.kind for group in self.lessons.values() for lesson in group
        )
        return StudentSummary(
            answers_per_intent={
                intent: len(group) * self.sample_step for intent, group in self.lessons.items()
            },
            lessons_per_kind={kind: n * self.sample_step for kind, n in kinds.items()},
        )

    def coverage(self, intent: str) -> float:
        """How fully the training covered an intent: 0 (never seen) to 1 (enough)."""
        seen = len(self.lessons.get(intent, ())) * self.sample_step
        return min(1.0, seen / self.min_examples)

    def reply(self, messages: list[Message], *, use_tools: bool, model_id: str) -> Message:
        teacher, intent = answer_with_intent(self.kb, messages, use_tools=use_tools)
        if draw(model_id, messages, "coverage") >= self.coverage(intent):
            return untuned_answer(teacher, draw(model_id, messages, "untuned"))
        group = self.lessons[intent]
        lesson = group[int(draw(model_id, messages, "lesson") * len(group))]
        return apply(lesson, teacher)
