"""MinHash sketches of conversations, for keeping evaluation examples out of training data.

The text of a conversation is what its user and assistant said: the system prompt is
left out (every call shares it, so it would make all calls look alike), and so are tool
messages. Shingles are word 3-grams of that text after Unicode NFKC and case folding,
the same idea as the cleaner's near-duplicate filter. Sketches come from ``rensa``
(``RMinHash``, 128 permutations) and are stored with each example, as 512 bytes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import rensa

NUM_PERM = 128
SEED = 20_261_102
SHINGLE_WORDS = 3
SIGNATURE_BYTES = NUM_PERM * 4
SPOKEN_ROLES = ("user", "assistant")
EMPTY_SLOT = np.uint32(0xFFFFFFFF)
"""Every slot of the sketch of an empty text holds this value."""

_WORD = re.compile(r"\w+")


def conversation_text(messages: Iterable[Mapping[str, Any]]) -> str:
    """The user and assistant text of a conversation, one message a line."""
    return "\n".join(spoken_texts(messages))


def spoken_texts(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    """The texts :func:`conversation_text` puts on its lines, in order."""
    parts = []
    for message in messages:
        if message.get("role") not in SPOKEN_ROLES:
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str))
    return parts


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(text: str) -> list[str]:
    """Word 3-grams of ``text`` (the whole text when it has fewer words); none for no words."""
    words = _words(text)
    if len(words) < SHINGLE_WORDS:
        return [" ".join(words)] if words else []
    return [" ".join(gram) for gram in zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)]


TEXTS_KEPT = 8_192
"""Texts whose words and shingles :func:`conversation_shingles` keeps: each example of a call
repeats the turns before it, and a call's turns are stored together."""


@lru_cache(maxsize=TEXTS_KEPT)
def _words_and_shingles(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    words = tuple(_words(text))
    return words, tuple(" ".join(words[i:i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1))


def conversation_shingles(texts: Sequence[str]) -> list[str]:
    """``shingles("\\n".join(texts))``, each text's words and shingles made once.

    A line break is no word, and NFKC and case folding change no character across one, so the
    words of the joined text are each text's in turn; its shingles are each text's own, then
    the few that run on into the next texts (``tests/test_sketch.py`` checks the two agree).
    """
    parts = [_words_and_shingles(text) for text in texts]
    words = [word for part_words, _ in parts for word in part_words]
    if len(words) < SHINGLE_WORDS:
        return [" ".join(words)] if words else []
    found: list[str] = []
    start = 0
    for part_words, part_shingles in parts:
        found += part_shingles
        end = start + len(part_words)
        found += (" ".join(words[at:at + SHINGLE_WORDS])
                  for at in range(max(start, end - SHINGLE_WORDS + 1), min(end, len(words) - SHINGLE_WORDS + 1)))
        start = end
    return found


def sketch_spoken(conversations: Sequence[Sequence[str]]) -> np.ndarray:
    """:func:`sketch_texts` of each conversation's text, given as its :func:`spoken_texts`."""
    return _sketch([conversation_shingles(texts) for texts in conversations])


def sketch_texts(texts: Sequence[str]) -> np.ndarray:
    """MinHash signatures of ``texts``: an (n, NUM_PERM) uint32 matrix, one row per text."""
    return _sketch([shingles(t) for t in texts])


def _sketch(shingle_lists: list[list[str]]) -> np.ndarray:
    if not shingle_lists:
        return np.empty((0, NUM_PERM), dtype=np.uint32)
    matrix = rensa.RMinHash.digest_matrix_from_token_sets(shingle_lists, NUM_PERM, SEED)
    return np.asarray(matrix.to_rows(), dtype=np.uint32)


def signature_bytes(signature: np.ndarray) -> bytes:
    """One signature row as stored (little-endian uint32s)."""
    return signature.astype("<u4", copy=False).tobytes()


def signatures_from_bytes(blobs: Sequence[bytes]) -> np.ndarray:
    """Stored signatures back into an (n, NUM_PERM) matrix."""
    if not blobs:
        return np.empty((0, NUM_PERM), dtype=np.uint32)
    wrong = next((len(b) for b in blobs if len(b) != SIGNATURE_BYTES), None)
    if wrong is not None:
        raise ValueError(f"stored signature has {wrong} bytes; expected {SIGNATURE_BYTES}")
    return np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(blobs), NUM_PERM).astype(np.uint32)


def is_empty(signatures: np.ndarray) -> np.ndarray:
    """Which rows sketch a text without words (such rows are never near-duplicates)."""
    return np.all(signatures == EMPTY_SLOT, axis=1)
