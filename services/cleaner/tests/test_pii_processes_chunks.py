"""How a batch of new texts is split between personal-data worker processes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from distillery_cleaner.adapters.pii_processes import chunks


@given(count=st.integers(0, 500), parts=st.integers(1, 8), smallest=st.integers(1, 40))
def test_every_text_is_in_one_run_in_order_and_runs_are_as_even_as_the_smallest_run_allows(count, parts, smallest):
    texts = [f"text {i}" for i in range(count)]
    runs = chunks(texts, parts, smallest)
    assert [t for run in runs for t in run] == texts
    assert 1 <= len(runs) <= parts
    assert max(map(len, runs)) - min(map(len, runs)) <= 1
    if len(runs) > 1:
        assert min(map(len, runs)) >= smallest
    # Not fewer runs than the texts allow: one more run would have one under ``smallest``.
    assert len(runs) == parts or count < (len(runs) + 1) * smallest


def test_a_batch_too_small_to_share_goes_to_one_worker():
    assert chunks(["a"] * 31, parts=2, smallest=16) == [["a"] * 31]
    assert chunks(["a"] * 32, parts=2, smallest=16) == [["a"] * 16, ["a"] * 16]
