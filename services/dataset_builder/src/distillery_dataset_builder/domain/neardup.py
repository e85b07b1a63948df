"""Which candidates are near-duplicates of an evaluation example (LSH banding, then a check).

``rensa`` computes the sketches, but its LSH index only accepts sketches it built from
text in the same process; ours are stored, so banding is done here with numpy over the
stored signatures: candidates sharing a band with an evaluation example are compared
slot by slot, and a pair counts when the estimated Jaccard similarity reaches the
threshold. Each band has as many rows as still finds 99% of pairs at the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from distillery_dataset_builder.domain.sketch import NUM_PERM, is_empty

ROW_CHOICES = (16, 8, 4, 2, 1)
TARGET_RECALL = 0.99
NO_MATCH = -1
_PAIR_CHUNK = 50_000
_KEY_CHUNK = 20_000
# Odd 64-bit multipliers (from splitmix64) that mix a band's slots into one key.
_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93],
                dtype=np.uint64)


def rows_per_band(threshold: float, num_perm: int = NUM_PERM) -> int:
    """The most rows per band that still makes a pair at ``threshold`` a candidate 99% of the time."""
    for rows in ROW_CHOICES:
        bands = num_perm // rows
        if 1.0 - (1.0 - threshold**rows) ** bands >= TARGET_RECALL:
            return rows
    return 1


def band_keys(signatures: np.ndarray, rows: int) -> np.ndarray:
    """One 64-bit key per band: an (n, NUM_PERM // rows) uint64 matrix, made ``_KEY_CHUNK`` rows at
    a time (the 64-bit products of 200,000 signatures at once would be 400 MB)."""
    n = signatures.shape[0]
    bands = signatures.shape[1] // rows
    weights = _MIX[np.arange(rows) % len(_MIX)] + np.arange(rows, dtype=np.uint64) * np.uint64(2)
    keys = np.empty((n, bands), dtype=np.uint64)
    for start in range(0, n, _KEY_CHUNK):
        part = signatures[start:start + _KEY_CHUNK, : bands * rows]
        slots = part.astype(np.uint64).reshape(len(part), bands, rows)
        with np.errstate(over="ignore"):
            keys[start:start + len(part)] = (slots * weights).sum(axis=2, dtype=np.uint64)
    return keys


@dataclass(frozen=True)
class NearDuplicateIndex:
    """Evaluation signatures, each with a source label, ready to be matched against."""

    signatures: np.ndarray
    sources: np.ndarray
    """Per evaluation row, the index of its source in ``source_names`` (lower wins a tie)."""
    source_names: tuple[str, ...]
    threshold: float

    @classmethod
    def of(cls, groups: Sequence[tuple[str, np.ndarray]], threshold: float) -> NearDuplicateIndex:
        """An index over named groups of signatures, e.g. [("golden_set", sigs), ...]."""
        names = tuple(name for name, _ in groups)
        sigs = [s for _, s in groups]
        stacked = np.concatenate(sigs) if sigs else np.empty((0, NUM_PERM), dtype=np.uint32)
        sources = np.concatenate([np.full(len(s), i, dtype=np.int16) for i, s in enumerate(sigs)]) if sigs \
            else np.empty(0, dtype=np.int16)
        keep = ~is_empty(stacked)
        return cls(stacked[keep], sources[keep], names, threshold)

    def match(self, candidates: np.ndarray) -> np.ndarray:
        """Per candidate row, the source index of the eval example it copies, or NO_MATCH.

        Sources are tried in order (the first that holds a copy wins) and band by band; in a
        band, each candidate still unmatched is compared with the eval examples of its bucket
        one member a round, and leaves at its first copy. A clinic's calls are alike, so one
        bucket can hold thousands of train and validation examples: building every pair of
        every band at once (an earlier version) took 4.9 GB and 150 s for a 100,000-example
        build; a copy is usually found on the first comparison.
        """
        result = np.full(len(candidates), NO_MATCH, dtype=np.int16)
        if len(candidates) == 0 or len(self.signatures) == 0:
            return result
        rows = rows_per_band(self.threshold, candidates.shape[1])
        cand_keys, eval_keys = band_keys(candidates, rows), band_keys(self.signatures, rows)
        open_ = ~is_empty(candidates)
        for source in range(len(self.source_names)):
            evals = np.nonzero(self.sources == source)[0]
            for band in range(cand_keys.shape[1] if len(evals) else 0):
                waiting = np.nonzero(open_)[0]
                if len(waiting) == 0:
                    break
                order = evals[np.argsort(eval_keys[evals, band], kind="stable")]
                sorted_keys = eval_keys[order, band]
                keys = cand_keys[waiting, band]
                lo = np.searchsorted(sorted_keys, keys, side="left")
                left = np.searchsorted(sorted_keys, keys, side="right") - lo
                member = 0
                while True:
                    turn = np.nonzero(left > member)[0]
                    if len(turn) == 0:
                        break
                    similar = _similar(candidates, self.signatures, waiting[turn], order[lo[turn] + member],
                                       self.threshold)
                    found = waiting[turn[similar]]
                    result[found] = source
                    open_[found] = False
                    left[turn[similar]] = 0
                    member += 1
        return result


def _similar(candidates: np.ndarray, evals: np.ndarray, cand_idx: np.ndarray, eval_idx: np.ndarray,
             threshold: float) -> np.ndarray:
    """Per pair, whether the estimated Jaccard similarity reaches ``threshold`` (in chunks)."""
    keep = np.zeros(len(cand_idx), dtype=bool)
    for start in range(0, len(cand_idx), _PAIR_CHUNK):
        stop = start + _PAIR_CHUNK
        equal = candidates[cand_idx[start:stop]] == evals[eval_idx[start:stop]]
        keep[start:stop] = equal.mean(axis=1) >= threshold
    return keep
