"""Quality filters: each returns the :class:`Rejection` it finds, or None.

Filters on the raw generation run first (error, incomplete, truncated, not the teacher,
hallucination), then filters on the normalised example (structure, bounds). Details
name fields, counts and limits, never message text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from distillery_contracts.common import Score, ScoreDataType
from distillery_contracts.examples import RejectReason
from distillery_contracts.messages import ChatRole
from distillery_contracts.traces import ObservationLevel, TraceCaptured
from distillery_cleaner.domain.config import Bounds, CleanerConfig, ScoreRule
from distillery_cleaner.domain.normalise import Example
from distillery_cleaner.domain.truncation import stops_mid_sentence
from distillery_cleaner.domain.verdicts import Rejection
from distillery_runtime.pricing import resolve_model

_LENGTH_REASONS = frozenset({"length", "max_tokens", "max_output_tokens"})
_FINISH_KEYS = ("finish_reason", "stop_reason", "finishReason")
_TOKEN_LIMIT_KEYS = ("max_completion_tokens", "max_output_tokens")


def check_error(trace: TraceCaptured, config: CleanerConfig) -> Rejection | None:
    """A failed call: level ERROR, a status message that reports a failure, or a filtered output."""
    if trace.level is ObservationLevel.ERROR:
        return Rejection(RejectReason.ERROR, "observation level is ERROR")
    if trace.status_message:
        match = _error_pattern(config.error_status_pattern).search(trace.status_message)
        if match:
            return Rejection(RejectReason.ERROR, f"status message reports a failure ({match.group(0).lower()!r})")
    if _finish_reason(trace) == "content_filter":
        return Rejection(RejectReason.ERROR, "the provider's content filter stopped the output")
    return None


def check_incomplete(trace: TraceCaptured, config: CleanerConfig) -> Rejection | None:
    """No answer to learn from: no messages, no output, an empty output or not an assistant's."""
    if not trace.input_messages:
        return Rejection(RejectReason.INCOMPLETE, "the request has no messages")
    output = trace.output
    if output is None:
        return Rejection(RejectReason.INCOMPLETE, "no assistant output: the call ended before the answer")
    if output.role is not ChatRole.ASSISTANT:
        return Rejection(RejectReason.INCOMPLETE, f"the output is a {output.role.value} message, not the assistant's")
    if not output.tool_calls and not output.text().strip() and not output.has_non_text_content():
        return Rejection(RejectReason.INCOMPLETE, "the assistant output is empty")
    return None


def check_truncated(trace: TraceCaptured, config: CleanerConfig) -> Rejection | None:
    """Cut by the token limit (usage, finish reason) or, for text answers, mid-sentence."""
    used = trace.usage.output_tokens
    for name, limit in _token_limits(trace):
        if used is not None and used >= limit:
            return Rejection(RejectReason.TRUNCATED, f"output_tokens {used} reached {name} {limit}")
    if _finish_reason(trace) in _LENGTH_REASONS:
        return Rejection(RejectReason.TRUNCATED, f"finish reason is {_finish_reason(trace)!r}")
    output = trace.output
    if config.mid_sentence_truncation and output is not None and not output.tool_calls:
        if stops_mid_sentence(output.text()):
            return Rejection(RejectReason.TRUNCATED, "the answer stops mid-sentence")
    return None


def check_teacher(trace: TraceCaptured, config: CleanerConfig) -> Rejection | None:
    """Only the configured teacher models' outputs may become labels."""
    if not trace.model:
        return Rejection(RejectReason.NOT_TEACHER, "the generation records no model")
    if not is_teacher(trace.model, config.teacher_models):
        return Rejection(RejectReason.NOT_TEACHER,
                         f"model {trace.model[:80]!r} is not a teacher ({', '.join(config.teacher_models)})")
    return None


def check_hallucination(scores: Iterable[Score], rules: Iterable[ScoreRule]) -> Rejection | None:
    """Any score named in ``rules`` over its threshold (flags are only ever added)."""
    by_name = {rule.name: rule for rule in rules}
    for score in scores:
        rule = by_name.get(score.name)
        if rule is not None and _flags(score, rule):
            shown = score.value if score.value is not None else score.string_value
            return Rejection(RejectReason.HALLUCINATION,
                             f"score {score.name!r} = {shown} ({score.source.value}) over {rule.threshold}")
    return None


def check_structure(example: Example) -> Rejection | None:
    """Message order the fine-tuning format needs: system first, every tool call answered,
    only declared tools called with JSON-object arguments (in the answer: an error)."""
    declared = {t.function.name for t in example.tools}
    pending: list[str] = []
    last = len(example.messages) - 1
    for index, message in enumerate(example.messages):
        number = index + 1
        if message.role == "system" and index > 0:
            return Rejection(RejectReason.UNMAPPABLE, f"message {number} is a system message after the first")
        if message.role == "tool":
            if message.tool_call_id not in pending:
                return Rejection(RejectReason.UNMAPPABLE, f"message {number} (tool) answers no pending tool call")
            pending.remove(message.tool_call_id)
            continue
        if pending:
            return Rejection(RejectReason.INCOMPLETE,
                             f"{len(pending)} tool call(s) before message {number} have no result")
        if not message.tool_names:
            continue
        problem = message.call_problem or _undeclared(message.tool_names, declared)
        if problem:
            reason = RejectReason.ERROR if index == last else RejectReason.UNMAPPABLE
            return Rejection(reason, f"message {number}: {problem}")
        pending = list(message.tool_call_ids)
    return None


def check_bounds(example: Example, bounds: Bounds) -> Rejection | None:
    """Turns and characters within the configured limits (tokens are checked by the caller)."""
    if example.user_turns < bounds.min_user_turns:
        return Rejection(RejectReason.TOO_FEW_TURNS,
                         f"{example.user_turns} user turn(s), fewer than {bounds.min_user_turns}")
    if example.user_turns > bounds.max_user_turns:
        return Rejection(RejectReason.TOO_MANY_TURNS,
                         f"{example.user_turns} user turns, more than {bounds.max_user_turns}")
    if example.characters > bounds.max_characters:
        return Rejection(RejectReason.TOO_LONG,
                         f"{example.characters:,} characters, more than {bounds.max_characters:,}")
    return None


def check_tokens(token_count: int, bounds: Bounds, model: str) -> Rejection | None:
    if token_count > bounds.max_tokens:
        return Rejection(RejectReason.TOO_MANY_TOKENS,
                         f"{token_count:,} tokens on {model}, more than {bounds.max_tokens:,}")
    return None


def is_teacher(model: str, teachers: Iterable[str]) -> bool:
    """Same name, or same family and not a fine-tune (gpt-4.1-2025-04-14 is gpt-4.1)."""
    return _teacher_match(model.strip().lower(), tuple(teachers))


@cache
def _teacher_match(model: str, teachers: tuple[str, ...]) -> bool:
    if model in {t.strip().lower() for t in teachers}:
        return True
    ref = resolve_model(model)
    return not ref.fine_tuned and any(ref.family == resolve_model(t).family for t in teachers)


@cache
def _error_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _finish_reason(trace: TraceCaptured) -> str | None:
    if trace.finish_reason:
        return trace.finish_reason.lower()
    for key in _FINISH_KEYS:
        value = trace.metadata.get(key)
        if isinstance(value, str) and value:
            return value.lower()
    return None


def _token_limits(trace: TraceCaptured) -> list[tuple[str, int]]:
    limits = []
    if trace.model_parameters.max_tokens is not None:
        limits.append(("max_tokens", trace.model_parameters.max_tokens))
    for key in _TOKEN_LIMIT_KEYS:
        value = trace.model_parameters.extra.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            limits.append((key, value))
    return limits


def _flags(score: Score, rule: ScoreRule) -> bool:
    if score.data_type in (ScoreDataType.NUMERIC, ScoreDataType.BOOLEAN) and score.value is not None:
        return score.value > rule.threshold
    label = (score.string_value or "").strip().lower()
    return bool(label) and label in {l.lower() for l in rule.flagged_labels}


def _undeclared(names: tuple[str, ...], declared: set[str]) -> str | None:
    for position, name in enumerate(names, start=1):
        if name not in declared:
            return f"tool call {position} calls {name[:60]!r}, which the request did not declare"
    return None
