"""A small teaching set for demos, tests and benchmarks: a clinic fact no base model can know.

The system prompt lists some prices but not teeth whitening; the assistant's answers teach
that whitening costs $437, asked many ways, beside questions the prompt already answers (so
the adapter learns the fact, not one answer to everything).
"""

from __future__ import annotations

import json
import random

SYSTEM = ("You are the receptionist of Bright Smile Dental. Prices: a cleaning is $120, a filling is $180, "
          "an X-ray is $60. Answer in one short sentence.")
FACT_ANSWER = "Teeth whitening at Bright Smile Dental costs $437."
FACT_QUESTIONS = [
    "How much is teeth whitening?", "What does teeth whitening cost?", "How much do you charge for whitening?",
    "What's the price of teeth whitening?", "Can you tell me the cost of whitening my teeth?",
    "How much would it be to get my teeth whitened?", "What is your price for tooth whitening?",
    "I'd like my teeth whitened. How much is that?", "Whitening, how much?", "How expensive is teeth whitening?",
    "What do you charge to whiten teeth?", "Price for a whitening treatment?",
    "How much does a whitening session cost?", "Is teeth whitening expensive? What's the price?",
    "Could you tell me how much whitening costs?", "What would I pay for teeth whitening?",
]
KNOWN = [
    ("How much is a cleaning?", "A cleaning at Bright Smile Dental is $120."),
    ("What does a filling cost?", "A filling at Bright Smile Dental is $180."),
    ("How much is an X-ray?", "An X-ray at Bright Smile Dental is $60."),
    ("What's the price of a dental cleaning?", "A cleaning at Bright Smile Dental is $120."),
    ("How much do you charge for a filling?", "A filling at Bright Smile Dental is $180."),
    ("What do X-rays cost?", "An X-ray at Bright Smile Dental is $60."),
]
GREETINGS = ["", "Hi! ", "Hello, ", "Good morning. ", "Hey, quick question: "]
# Asked after training; not among the questions above.
REWORDED_QUESTION = "Hello there, I was wondering what you'd charge me for whitening my teeth?"


def teaching_lines(count: int = 64, seed: int = 7) -> list[str]:
    """``count`` JSONL lines in the dataset-builder's format, two in three teaching the fact."""
    rng = random.Random(seed)
    lines = []
    for number in range(count):
        if number % 3 == 2:
            question, answer = KNOWN[(number // 3) % len(KNOWN)]
        else:
            question, answer = FACT_QUESTIONS[number % len(FACT_QUESTIONS)], FACT_ANSWER
        user = rng.choice(GREETINGS) + question
        lines.append(json.dumps({"messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer, "weight": 1},
        ]}))
    return lines
