"""Near-duplicate fingerprints: a MinHash signature of word shingles, cut into LSH bands.

The signature is a MinHash (rensa's R-MinHash) of word shingles taken from the parts of
the conversation that :class:`NearDuplicates` names, never the system prompt. Shingles
do not cross message boundaries, so an example's set is the union of its messages' sets,
each computed once. The signature is cut into ``bands`` bands of ``rows`` values; two
examples that share any band are candidates, and a candidate is a duplicate when the
signatures agree on at least ``threshold`` of their values (the MinHash estimate of
Jaccard similarity). Bands are chosen so that a pair exactly at the threshold becomes a
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from sys import intern
from typing import Any

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
    """Shingles, signatures and band keys for the near-duplicate index."""

    def __init__(self, config: NearDuplicates, salt: bytes = b"", cache_size: int = CACHE_ENTRIES) -> None:
        self.config = config
        self.layout = BandLayout.for_threshold(config.threshold, config.num_perm)
        self._roles = frozenset(config.roles)
        self._seed = zlib.crc32(salt)
        self.shingles_of = lru_cache(maxsize=cache_size)(self._shingles_of)

    def shingles(self, messages: Iterable[dict[str, Any]]) -> set[str]:
        """Word shingles of the configured parts of the conversation (system prompt excluded)."""
        roles = self._roles
        found: set[str] = set()
        for message in messages:
            role = message["role"]
            if role in roles and message.get("content"):
                found |= self.shingles_of(message["content"])
            if "tool_calls" in roles and message.get("tool_calls"):
                for call in message["tool_calls"]:
                    found |= self.shingles_of(call["function"]["name"] + " " + call["function"]["arguments"])
        return found

    def _shingles_of(self, text: str) -> frozenset[str]:
        """The text's word shingles. A shingle is interned: the cache holds tens of thousands of
        sets and most of their shingles recur across messages ("would you like"), so each
        distinct one is stored once (-25 MiB of the cleaner's peak at 40,000 generations)."""
        words = _WORD.findall(text.lower())
        n = self.config.shingle_words
        if n == 1:
            return frozenset(words)
        if len(words) <= n:
            return frozenset([" ".join(words)]) if words else frozenset()
        return frozenset(intern(" ".join(words[i:i + n])) for i in range(len(words) - n + 1))

    def signatures(self, shingle_sets: Sequence[set[str]]) -> list[bytes]:
        """One MinHash signature (packed unsigned 32-bit values) per shingle set, in one call."""
        if not shingle_sets:
            return []
        matrix = RMinHash.digest_matrix_from_token_sets(
            [list(s) for s in shingle_sets], self.config.num_perm, self.config.seed
        )
        return [array("I", row).tobytes() for row in matrix.to_rows()]

    def band_keys(self, signature: bytes) -> list[int]:
        """Signed 64-bit keys of the signature's bands (see the module docstring)."""
        width, seed = self.layout.rows * 4, self._seed
        return [(band << 32) | zlib.crc32(signature[band * width:(band + 1) * width], seed)
                for band in range(self.layout.bands)]


def as_number(signature: bytes) -> int:
    """The signature as one integer, the form :func:`similarity` compares."""
    return int.from_bytes(signature, "little")


@lru_cache(maxsize=8)
def _lowest_bits(num_perm: int) -> int:
    """The lowest bit of each 32-bit value of a signature of ``num_perm`` values, as one number."""
    return int.from_bytes(b"\x01\x00\x00\x00" * num_perm, "little")


def similarity(a: int, b: int, num_perm: int) -> float:
    """Estimated Jaccard similarity of two signatures (as numbers): the share of equal values.

    The values that differ are the non-zero 32-bit lanes of ``a ^ b``. Five OR-ed right shifts
    (16 + 8 + 4 + 2 + 1 = 31) leave in bit i the OR of bits i to i + 31, so bit 32k is set
    exactly when lane k is non-zero; those bits are counted. Exact, and a third of the cost of
    unpacking the lanes into an array: a batch late in a replay compares tens of thousands of pairs.
    """
    lanes = a ^ b
    lanes |= lanes >> 16
    lanes |= lanes >> 8
    lanes |= lanes >> 4
    lanes |= lanes >> 2
    lanes |= lanes >> 1
    return (num_perm - (lanes & _lowest_bits(num_perm)).bit_count()) / num_perm
