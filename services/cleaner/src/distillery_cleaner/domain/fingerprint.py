"""Near-duplicate fingerprints: a MinHash signature of word shingles, cut into LSH bands.

The signature is a MinHash (rensa's R-MinHash) of word shingles taken from the parts of
the conversation that :class:`NearDuplicates` names, never the system prompt. Shingles
do not cross text boundaries, so an example's set is the union of its texts' sets, and its
signature is their signatures' least value in each position (:meth:`Fingerprinter.union`:
a MinHash value is the least hash of a set's members, so that is exact): each text is
signed once, and turn n of a call costs one minimum over its texts, not the hashing of
every shingle of turns 1..n again. The signature is cut into ``bands`` bands of ``rows``
values; two examples that share any band are candidates, and a candidate is a duplicate
when the signatures agree on at least ``threshold`` of their values (the MinHash estimate
of Jaccard similarity). Bands are chosen so that a pair exactly at the threshold becomes a
candidate with probability 0.98 or more (the estimate itself is only good to about
±0.035 at 128 values).

A band's key is its number in the high 32 bits and a CRC-32 of its values, seeded with
the cleaner's scope, in the low 32: stable across processes and Python versions (it is
stored), and an accidental collision only costs one extra signature comparison.
"""

from __future__ import annotations

import re
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy
from rensa import RMinHash

from distillery_cleaner.domain.config import NearDuplicates
from distillery_cleaner.domain.lru import CACHE_ENTRIES

_WORD = re.compile(r"\w+")
CANDIDATE_RECALL = 0.98


@dataclass(frozen=True)
class BandLayout:
    """How a signature is cut into LSH bands."""

    bands: int
    rows: int

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int) -> BandLayout:
        """The most selective layout that still finds a pair at ``threshold`` 98% of the time."""
        for rows in range(num_perm, 0, -1):
            bands = num_perm // rows
            if 1 - (1 - threshold**rows) ** bands >= CANDIDATE_RECALL:
                return cls(bands, rows)
        return cls(num_perm, 1)


class Fingerprinter:
    """Signatures and band keys for the near-duplicate index."""

    def __init__(self, config: NearDuplicates, salt: bytes = b"", cache_size: int = CACHE_ENTRIES) -> None:
        self.config = config
        self.layout = BandLayout.for_threshold(config.threshold, config.num_perm)
        self._roles = frozenset(config.roles)
        self._seed = zlib.crc32(salt)
        self.text_signature = lru_cache(maxsize=cache_size)(self._text_signature)

    def signature(self, messages: Iterable[dict[str, Any]]) -> bytes:
        """The signature of the configured parts of ``messages`` (system prompt excluded); b"" when
        they hold no shingle, or near-duplicate detection is off."""
        if not self.config.enabled:
            return b""
        return self.union(self.text_signature(text) for text in self.texts(messages))

    def texts(self, messages: Iterable[dict[str, Any]]) -> Iterator[str]:
        """The texts of ``messages`` that are shingled, each on its own."""
        roles = self._roles
        for message in messages:
            if message["role"] in roles and message.get("content"):
                yield message["content"]
            if "tool_calls" in roles and message.get("tool_calls"):
                for call in message["tool_calls"]:
                    yield call["function"]["name"] + " " + call["function"]["arguments"]

    def shingles(self, text: str) -> list[str]:
        """The text's word shingles; a text of no more words than a shingle is one shingle."""
        words = _WORD.findall(text.lower())
        n = self.config.shingle_words
        if n == 1:
            return words
        if len(words) <= n:
            return [" ".join(words)] if words else []
        return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]

    def _text_signature(self, text: str) -> bytes:
        """One text's signature (packed unsigned 32-bit values), b"" for a text without words."""
        shingles = self.shingles(text)
        if not shingles:
            return b""
        minhash = RMinHash(self.config.num_perm, self.config.seed)
        minhash.update(shingles)
        return array("I", minhash.digest()).tobytes()

    @staticmethod
    def union(signatures: Iterable[bytes]) -> bytes:
        """The signature of the union of the sets ``signatures`` sign (b"" ones sign nothing): the
        least of their values in each position."""
        present = [s for s in signatures if s]
        if len(present) <= 1:
            return present[0] if present else b""
        values = numpy.frombuffer(b"".join(present), dtype=numpy.uint32)
        return values.reshape(len(present), -1).min(axis=0).tobytes()

    def band_keys(self, signature: bytes) -> list[int]:
        """Signed 64-bit keys of the signature's bands (see the module docstring)."""
        width, seed = self.layout.rows * 4, self._seed
        return [(band << 32) | zlib.crc32(signature[band * width:(band + 1) * width], seed)
                for band in range(self.layout.bands)]
