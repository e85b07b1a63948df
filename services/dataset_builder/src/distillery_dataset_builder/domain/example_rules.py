"""Rules for one whole example (one JSONL line): its keys, tools, messages and size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillery_dataset_builder.domain.issues import Issue, kind_of, kind_or_empty, quoted
from distillery_dataset_builder.domain.limits import ModelLimits
from distillery_dataset_builder.domain.message_rules import check_messages
from distillery_runtime.tokens import tokenizer_for
from distillery_dataset_builder.domain.tool_rules import check_tools

EXAMPLE_KEYS = ("messages", "tools", "parallel_tool_calls")


@dataclass(frozen=True)
class ExampleCheck:
    """The issues of one example and its token count (None when it is not an object)."""

    issues: list[Issue]
    tokens: int | None


def check_example(example: Any, limits: ModelLimits, tokens: int | None = None) -> ExampleCheck:
    """Every rule ``example`` breaks, and the tokens it costs on ``limits.model``.

    ``tokens`` is the example's count with ``limits.model``'s tokenizer when the caller
    already has it (the dataset-builder counts each example once, when it is stored);
    None counts it here.
    """
    if not isinstance(example, dict):
        got = kind_of(example)
        return ExampleCheck(
            [Issue("not_an_object", f'expected a JSON object with "messages", got {got}')], None
        )
    issues = _check_structure(example)
    if tokens is None:
        tokens = tokenizer_for(limits.model).count_example(example)
    if tokens > limits.max_example_tokens:
        issues.append(
            Issue(
                "too_many_tokens",
                f"example has {tokens:,} tokens; {limits.model} allows at most "
                f"{limits.max_example_tokens:,} per example",
            )
        )
    return ExampleCheck(issues, tokens)


def _check_structure(example: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    extra = [key for key in example if key not in EXAMPLE_KEYS]
    if extra:
        issues.append(
            Issue("unrecognized_key", f"unrecognized key {quoted(extra)}; allowed: {quoted(EXAMPLE_KEYS)}")
        )
    declared: set[str] | None = None
    if "tools" in example:
        tool_issues, declared = check_tools(example["tools"])
        issues.extend(tool_issues)
    if "parallel_tool_calls" in example and not isinstance(example["parallel_tool_calls"], bool):
        got = kind_of(example["parallel_tool_calls"])
        issues.append(
            Issue("invalid_parallel_tool_calls", f'"parallel_tool_calls" must be true or false, got {got}')
        )
    messages = example.get("messages")
    if "messages" not in example:
        issues.append(Issue("missing_messages", 'no "messages"; each line needs a "messages" list'))
    elif not isinstance(messages, list) or not messages:
        issues.append(
            Issue("invalid_messages", f'"messages" must be a non-empty list, got {kind_or_empty(messages)}')
        )
    else:
        issues.extend(check_messages(messages, declared))
    return issues
