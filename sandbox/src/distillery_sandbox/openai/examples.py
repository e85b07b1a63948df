"""Training files made straight from simulated traffic, for tests and demos that need a
dataset without running the cleaner: one example per generation that has an answer, with
the workload's injected defects left in (so a file can be as dirty as its traffic)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from distillery_sandbox.workload import SimulatedCall, WorkloadConfig, simulate_calls


def examples_from_calls(calls: Iterable[SimulatedCall], *,
                        skip_defects: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Chat fine-tuning examples (messages + the generation's output, tools), skipping
    generations without an answer and those carrying any defect in `skip_defects`."""
    skipped = frozenset(skip_defects)
    examples = []
    for call in calls:
        for generation in call.generations:
            output = generation.output
            if not output or not (output.get("content") or output.get("tool_calls")):
                continue
            if generation.defects & skipped:
                continue
            example: dict[str, Any] = {"messages": [*generation.messages, output]}
            if generation.tools:
                example["tools"] = list(generation.tools)
            examples.append(example)
    return examples


def to_jsonl(examples: Iterable[dict[str, Any]]) -> bytes:
    """Examples as a JSON-lines file body."""
    return "".join(json.dumps(example, ensure_ascii=False) + "\n" for example in examples).encode()


def simulated_training_file(config: WorkloadConfig) -> bytes:
    """A training file of every answer the simulated traffic of `config` holds."""
    return to_jsonl(examples_from_calls(simulate_calls(config)))
