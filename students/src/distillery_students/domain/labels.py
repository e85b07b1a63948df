"""Labels per message: the tokens of learned assistant messages keep their id, the rest are -100.

TRL's assistant-only loss needs ``{% generation %}`` markers that SmolLM2's template lacks,
and TRL knows no ``weight``; so the trainer builds ``labels`` itself from the character
spans :func:`~distillery_students.domain.chat_template.render` reports, and hands TRL a
tokenised dataset whose labels it uses as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from distillery_students.domain.chat_template import Rendered

IGNORE_INDEX = -100


class Tokenizer(Protocol):
    """A fast (Rust) Hugging Face tokenizer, or anything that returns ids with character offsets."""

    def __call__(self, text: str, *, add_special_tokens: bool = ..., return_offsets_mapping: bool = ...) -> Any: ...


@dataclass(frozen=True)
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]
    truncated: bool
    length: int = 0
    """Tokens of the whole conversation, before the cut to ``max_length``."""
    learned_past_cut: int = 0
    """Learned tokens the cut removed: the part of a taught answer the student never sees."""

    @property
    def learned_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def mask_labels(input_ids: Sequence[int], offsets: Sequence[tuple[int, int]],
                loss_spans: Sequence[tuple[int, int]]) -> list[int]:
    """A token carries loss when it starts inside a learned span."""
    labels = []
    spans = sorted(loss_spans)
    for token, (start, _end) in zip(input_ids, offsets, strict=True):
        inside = any(low <= start < high for low, high in spans)
        labels.append(token if inside else IGNORE_INDEX)
    return labels


def tokenize(rendered: Rendered, tokenizer: Tokenizer, max_length: int) -> TokenizedExample:
    """Token ids and labels of one rendered conversation, cut to its first ``max_length`` tokens."""
    encoded = tokenizer(rendered.text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    labels = mask_labels(ids, [tuple(pair) for pair in encoded["offset_mapping"]], rendered.loss_spans)
    truncated = len(ids) > max_length
    past_cut = sum(1 for label in labels[max_length:] if label != IGNORE_INDEX)
    return TokenizedExample(ids[:max_length], labels[:max_length], truncated, len(ids), past_cut)
