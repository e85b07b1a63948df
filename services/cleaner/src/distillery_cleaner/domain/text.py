"""Text normalisation, and the cached normalise-then-redact step every message goes through.

Text is Unicode NFC; runs of spaces and tabs become one space, trailing spaces and
surplus blank lines go, line breaks stay (a system prompt's layout is what the student
will be served with, so it is kept). Lone surrogates and NUL become U+FFFD first: this is
the cleaner's text-safety edge (``distillery_runtime.text``), whatever the producer let in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from distillery_cleaner.domain.lru import CACHE_ENTRIES
from distillery_cleaner.domain.pii import Counts, PiiRedactor
from distillery_runtime.lru import Lru
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
    """Normalises then redacts text, remembering recent results (turns repeat their past).

    ``prime`` takes a whole delivery batch's texts at once, so the redactor can run its
    named-entity model over the new ones together (``nlp.pipe``), and is what the service
    runs off the event loop; ``clean`` then answers from the cache. ``misses`` counts the
    texts analysed, ``hits`` the texts ``prime`` was given that needed no analysis (seen
    before, or earlier in the same batch): the cache hit rate the benchmark prints.
    """

    def __init__(self, redactor: PiiRedactor, cache_size: int = CACHE_ENTRIES) -> None:
        self.redactor = redactor
        self._cache: Lru[str, tuple[str, Counts]] = Lru(cache_size)
        self.hits = 0
        self.misses = 0

    def clean(self, text: str) -> tuple[str, Counts]:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        self.misses += 1
        return self._cache.put(text, self.redactor.redact(normalise_text(text)))

    def prime(self, texts: Iterable[str]) -> None:
        """Clean the ones among ``texts`` not cleaned yet, analysing them in one batch."""
        given = list(texts)
        new = [t for t in dict.fromkeys(given) if t not in self._cache]
        self.hits += len(given) - len(new)
        if not new:
            return
        normalised = [normalise_text(t) for t in new]
        self.redactor.prime(normalised)
        for text, plain in zip(new, normalised, strict=True):
            self.misses += 1
            self._cache.put(text, self.redactor.redact(plain))
