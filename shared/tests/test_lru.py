"""A bounded cache: least recently used out first."""

from __future__ import annotations

from distillery_runtime.lru import Lru


def test_asking_whether_a_key_is_held_does_not_keep_it() -> None:
    cache: Lru[str, int] = Lru(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert "a" in cache and len(cache) == 2
    cache.put("c", 3)
    assert "a" not in cache and cache.get("b") == 2 and cache.get("c") == 3
