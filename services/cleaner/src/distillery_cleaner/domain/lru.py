"""How much the cleaner's bounded caches (``distillery_runtime.lru.Lru``) hold."""

from __future__ import annotations

CACHE_ENTRIES = 16_384
"""Entries of each of the cleaner's caches of distinct texts (cleaned messages, their texts,
personal data found, signatures). What they save is a call's earlier turns, which every later
turn carries again, and the system prompt and tool results every call carries. A call's turns
reach the cleaner seconds to minutes apart, with a few hundred other texts between them even at
five times the reference traffic; a batch of 1,000 generations brings ~1,400 new texts, and the
next batch's are found while the current one is screened, so two batches' must fit. 65,536
entries found about the same share (86.5% against 86.2% on ``tests/bench/bench_cleaner.py``'s
40,000 generations) and held far more: the cleaner's peak in a 300,000-generation replay
(``tests/bench/bench_replay.py --no-ner``) was 1,011 MiB with them, 760 MiB with these."""
