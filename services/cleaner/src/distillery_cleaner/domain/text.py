"""Text normalisation, and the cached normalise-then-redact step every message goes through.

Text is Unicode NFC; runs of spaces and tabs become one space, trailing spaces and
surplus blank lines go, line breaks stay (a system prompt's layout is what the student
will be served with, so it is kept). Lone surrogates and NUL become U+FFFD first: this is
the cleaner's text-safety edge (``distillery_runtime.text``), whatever the producer let in.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from distillery_cleaner.domain.pii import Counts, PiiRedactor
from distillery_runtime.text import scrub

_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """Safe text, NFC, single spaces, no trailing spaces or surplus blank lines, stripped."""
    text = scrub(text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n")
    text = _HORIZONTAL_SPACE.sub(" ", text)
    if "\n" in text:
        text = _BLANK_LINES.sub("\n\n", _SPACE_AROUND_NEWLINE.sub("\n", text))
    return text.strip()


class TextCleaner:
    """Normalises then redacts text, remembering recent results (turns repeat their past)."""

    def __init__(self, redactor: PiiRedactor, cache_size: int = 65_536) -> None:
        self.redactor = redactor
        self.clean = lru_cache(maxsize=cache_size)(self._clean)

    def _clean(self, text: str) -> tuple[str, Counts]:
        return self.redactor.redact(normalise_text(text))
