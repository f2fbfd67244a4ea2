"""The assistant's LRU of recent searches, cards and answers."""

from __future__ import annotations

import pytest

from assistant.cache import LRU


def test_the_least_recently_used_entry_leaves_first_and_hits_are_counted() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert cache.stats() == {"entries": 2, "hits": 3, "misses": 1}
    cache.clear()
    assert len(cache) == 0 and cache.get("a") is None


def test_a_cache_of_no_capacity_keeps_nothing() -> None:
    cache: LRU[str, int] = LRU(0)
    cache.put("a", 1)
    assert cache.get("a") is None
    with pytest.raises(ValueError, match="capacity"):
        LRU(-1)
