"""The SQL store's indexed examples: least recently used out first."""

from __future__ import annotations

from distillery_cleaner.adapters.repository import IndexedRows


def test_the_least_recently_used_rank_goes_first_once_full() -> None:
    rows = IndexedRows(size=2)
    rows.put(1, ("ex-1", "call-a", b"1"))
    rows.put(2, ("ex-2", "call-b", b"2"))
    assert rows.get(1) == ("ex-1", "call-a", b"1")  # 1 is now the most recently used
    rows.put(3, ("ex-3", "call-c", b"3"))
    assert rows.get(2) is None
    assert rows.get(1) == ("ex-1", "call-a", b"1")
    assert rows.get(3) == ("ex-3", "call-c", b"3")
