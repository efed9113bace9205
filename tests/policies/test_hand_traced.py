"""Eviction orders traced by hand, one small sequence per policy.

Each test states the cache content after each step in a comment; the
assertions check the hits and the evicted keys exactly.
"""

import pytest

from policies import make_policy


def trace(policy, keys, sizes=None):
    """Replay keys; return (hit flags, evicted keys per request)."""
    hits, evictions = [], []
    for i, key in enumerate(keys):
        size = 1 if sizes is None else sizes[i]
        if policy.lookup(key):
            hits.append(True)
            evictions.append([])
        else:
            hits.append(False)
            evictions.append(policy.insert(key, size))
    return hits, evictions


def test_lru_evicts_least_recently_used():
    cache = make_policy("lru", 3)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "d", "b", "e", "a"])
    # a b c -> [a b c]; a hit -> [b c a]; d evicts b -> [c a d]; b evicts c -> [a d b]
    # e evicts a -> [d b e]; a evicts d -> [b e a]
    assert hits == [False, False, False, True, False, False, False, False]
    assert evicted == [[], [], [], [], ["b"], ["c"], ["a"], ["d"]]
    assert cache.keys() == ["b", "e", "a"]


def test_fifo_ignores_hits():
    cache = make_policy("fifo", 3)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "d", "a", "e"])
    # [a b c]; a hit changes nothing; d evicts a -> [b c d]; a evicts b -> [c d a]; e evicts c
    assert hits == [False, False, False, True, False, False, False]
    assert evicted == [[], [], [], [], ["a"], ["b"], ["c"]]
    assert cache.keys() == ["d", "a", "e"]


def test_lfu_evicts_least_frequent_then_oldest_at_that_frequency():
    cache = make_policy("lfu", 3)
    hits, evicted = trace(cache, ["a", "a", "b", "c", "c", "d", "b", "e"])
    # a:1 a:2 b:1 c:1 c:2 -> d evicts b (count 1, the only one) -> {a:2, c:2, d:1}
    # b evicts d (count 1) -> {a:2, c:2, b:1}; e evicts b -> {a:2, c:2, e:1}
    assert hits == [False, True, False, False, True, False, False, False]
    assert evicted == [[], [], [], [], [], ["b"], ["d"], ["b"]]
    # Ties at count 2: a reached 2 before c, so a goes first.
    assert cache.keys() == ["e", "a", "c"]
    assert cache.insert("f") == ["e"]
    assert cache.insert("g") == ["f"]


def test_lfu_tie_broken_by_time_of_reaching_the_count():
    cache = make_policy("lfu", 2)
    trace(cache, ["a", "b", "b", "a"])
    # b reached count 2 before a did: b is the older at count 2, so it goes first.
    assert cache.insert("c") == ["b"]


def test_clock_gives_a_second_chance():
    cache = make_policy("clock", 3)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "d", "e", "a", "f"])
    # [a0 b0 c0]; a hit -> a1; d: hand at a1 -> clear, move back [b0 c0 a0], evict b -> [c0 a0 d0]
    # e evicts c -> [a0 d0 e0]; a hit -> a1; f: a1 cleared and moved -> [d0 e0 a0], evict d
    assert hits == [False, False, False, True, False, False, True, False]
    assert evicted == [[], [], [], [], ["b"], ["c"], [], ["d"]]
    assert cache.keys() == ["e", "a", "f"]


def test_clock_with_two_bits_counts_up_to_three():
    cache = make_policy("clock", 2, bits=2)
    for key in ["a", "b", "a", "a", "a", "a"]:
        cache.access(key)
    # a's counter saturates at 3; inserting c sweeps: a3->2 (back), b0 evicted.
    assert cache.insert("c") == ["b"]
    # d: a2->1 (back), c0 evicted.
    assert cache.insert("d") == ["c"]


def test_random_evicts_only_cached_keys_and_is_reproducible():
    first = make_policy("random", 4, seed=7)
    second = make_policy("random", 4, seed=7)
    keys = [k % 11 for k in range(200)]
    assert [first.access(k) for k in keys] == [second.access(k) for k in keys]
    assert first.keys() == second.keys()
    other = make_policy("random", 4, seed=8)
    assert [other.access(k) for k in keys] != [make_policy("random", 4, seed=7).access(k) for k in keys]


def test_random_eviction_is_uniform():
    # Fill with 0..9, insert one more key many times over fresh caches: each
    # victim should be chosen about 10% of the time.
    counts = dict.fromkeys(range(10), 0)
    for seed in range(3000):
        cache = make_policy("random", 10, seed=seed)
        for key in range(10):
            cache.insert(key)
        (victim,) = cache.insert("new")
        counts[victim] += 1
    assert all(230 < count < 370 for count in counts.values()), counts


@pytest.mark.parametrize("name", ["lru", "fifo", "lfu", "clock", "random"])
def test_byte_capacity_evicts_until_the_object_fits(name):
    cache = make_policy(name, 10)
    for key in "abcde":
        cache.insert(key, 2)
    assert cache.used == 10
    evicted = cache.insert("big", 5)
    # Three 2-byte objects must go to make room for 5 bytes (10 - 6 + 5 <= 10).
    assert len(evicted) == 3
    assert cache.used == 9
    assert "big" in cache


@pytest.mark.parametrize("name", ["lru", "fifo", "lfu", "clock", "random"])
def test_object_larger_than_the_cache_is_not_admitted(name):
    # As in libCacheSim: nothing is evicted for an object that can never fit.
    cache = make_policy(name, 10)
    cache.insert("a", 4)
    assert cache.insert("huge", 11) == []
    assert "huge" not in cache and "a" in cache and cache.used == 4


def test_lru_order_under_byte_capacity():
    cache = make_policy("lru", 6)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "d"], sizes=[2, 2, 2, 2, 3])
    # [a b c] 6 bytes; a hit -> [b c a]; d (3 bytes) evicts b then c -> [a d], 5 bytes
    assert evicted[-1] == ["b", "c"]
    assert cache.keys() == ["a", "d"] and cache.used == 5
