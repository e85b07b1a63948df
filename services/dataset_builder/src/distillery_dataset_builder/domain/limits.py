"""What the provider accepts in one fine-tuning file, per base model.

Figures are OpenAI's (also Azure OpenAI's) published limits for supervised fine-tuning:
a training example may hold at most 65,536 tokens on the gpt-4o and gpt-4.1 families
(16,385 on gpt-3.5-turbo), a file needs at least 10 examples and may be at most 512 MB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from distillery_runtime.pricing import family_entry

MIN_EXAMPLES = 10
MAX_FILE_BYTES = 512_000_000


@dataclass(frozen=True)
class ModelLimits:
    """The provider's limits on a training file for one base model."""

    model: str
    """Base model (or its family) the file will train; it also picks the tokenizer."""
    max_example_tokens: int
    """Most tokens one example (one line) may hold, tool definitions included."""
    min_examples: int = MIN_EXAMPLES
    """Fewest examples a training file must have."""
    max_file_bytes: int = MAX_FILE_BYTES
    """Largest file the provider accepts."""


DEFAULT_MODEL_LIMITS: dict[str, ModelLimits] = {
    family: ModelLimits(model=family, max_example_tokens=tokens)
    for family, tokens in {
        "gpt-4o-mini": 65_536,
        "gpt-4o": 65_536,
        "gpt-4.1": 65_536,
        "gpt-4.1-mini": 65_536,
        "gpt-4.1-nano": 65_536,
        "gpt-3.5-turbo": 16_385,
        "gpt-35-turbo": 16_385,
    }.items()
}


class UnknownLimitsError(LookupError):
    """No limits are configured for the model's family."""


def limits_for(model: str, table: Mapping[str, ModelLimits] | None = None) -> ModelLimits:
    """The limits of ``model``'s family, from ``table`` (default: :data:`DEFAULT_MODEL_LIMITS`).

    A fine-tuned model resolves to its base family, since training it further is bound by
    the same limits. The returned limits carry the name asked for, so token counts use it.
    """
    table = DEFAULT_MODEL_LIMITS if table is None else table
    limits = family_entry(table, model, UnknownLimitsError, "fine-tuning limits")
    return replace(limits, model=model)
