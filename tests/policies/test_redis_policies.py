"""Redis's eviction (policies/redis.py) traced by hand: sampling, the pool, the LRU clock, LFU counters, memory.

Where a choice is random, the test draws from its own copy of the seeded
generator (random.Random(seed)) and works out which keys Redis's procedure
must sample and evict.
"""

import random
import re

import pytest

from experiments.analysis import replay
from policies import make_policy, policy_class
from policies.redis import EVPOOL_SIZE, LFU_INIT_VAL, LRU_CLOCK_MAX
from policies.server_memory import jemalloc_size, redis_entry_bytes, redis_table_bytes


def filled(name, capacity, keys, times=None, **params):
    """A policy with `keys` inserted in order, the i-th at times[i] (default i seconds)."""
    cache = make_policy(name, capacity, **params)
    for i, key in enumerate(keys):
        cache.advance(i if times is None else times[i])
        cache.insert(key)
    return cache


def test_lru_evicts_the_idlest_of_the_sampled_keys():
    cache = filled("redis-lru", 4, "abcd", samples=2, seed=7)
    draws = random.Random(7)
    picked = []
    while len(picked) < 2:  # two distinct indices into the 5 keys, as the policy draws them
        index = int(draws.random() * 5)
        if index not in picked:
            picked.append(index)
    cache.advance(4)
    evicted = cache.insert("e")
    sampled = ["abcde"[i] for i in picked]
    idle = {key: 4 - "abcde".index(key) for key in sampled}  # key i was last used at second i
    assert evicted == [max(sampled, key=lambda key: (idle[key], -sampled.index(key)))]
    survivor = min(sampled, key=lambda key: (idle[key], -sampled.index(key)))
    assert cache.pool == [(idle[survivor], survivor)]  # the other candidate stays for the next eviction


def test_pool_keeps_the_score_a_key_was_sampled_with():
    # samples >= keys: every key is sampled, so the trace needs no random draws.
    cache = filled("redis-lru", 3, "abc", samples=5)
    cache.advance(3)
    assert cache.insert("d") == ["a"]  # idle a=3 b=2 c=1 d=0
    assert cache.pool == [(0, "d"), (1, "c"), (2, "b")]
    cache.advance(4)
    assert cache.lookup("b")  # b is read now: idle 0 ...
    # ... but the pool still holds it with idle 2.  Sampled at 4: d=1, b=0, c=2, e=0; ties go
    # before the entries already there, so the pool reads e0 b0 d0 d1 c1 c2 b2: the stale b2 goes.
    assert cache.insert("e") == ["b"]
    assert cache.pool == [(0, "e"), (0, "b"), (0, "d"), (1, "d"), (1, "c"), (2, "c")]


def test_a_pool_entry_whose_key_is_gone_is_skipped():
    cache = filled("redis-lru", 3, "abc", samples=5)
    cache.advance(3)
    cache.insert("d")  # evicts a; pool d0 c1 b2
    cache.remove("b")  # b's entry is now a ghost
    cache.advance(4)
    cache.insert("e")  # keys c d e fit: no eviction
    cache.insert("f")  # sampled c=2 d=1 e=0 f=0 -> c2 is the best existing candidate
    assert "c" not in cache and set(cache.keys()) == {"d", "e", "f"}


def test_the_clock_has_one_second_resolution_and_wraps():
    cache = filled("redis-lru", 2, "ab", times=[10.2, 10.9], samples=5)
    assert cache.lru == {"a": 10, "b": 10}
    cache.advance(11.5)
    cache.insert("c")  # a, b, c idle 1, 1, 0: the tie goes to the key sampled first, a
    assert "a" not in cache
    wrapping = filled("redis-lru", 2, "xy", times=[LRU_CLOCK_MAX - 1, LRU_CLOCK_MAX + 2], samples=5)
    assert wrapping.lru == {"x": LRU_CLOCK_MAX - 1, "y": 1}
    wrapping.advance(LRU_CLOCK_MAX + 3)  # clock 2: x has been idle 3 seconds (across the wrap), y 1
    assert wrapping._score("x") == 3 and wrapping._score("y") == 1
    wrapping.insert("z")
    assert "x" not in wrapping


def test_the_pool_holds_at_most_16_and_drops_its_worst():
    cache = make_policy("redis-lru", 100, samples=5)
    for score in range(EVPOOL_SIZE):
        cache._offer(score + 10, f"k{score}")
    cache._offer(5, "worse")  # below the worst of a full pool: not taken
    assert len(cache.pool) == EVPOOL_SIZE and ("worse" not in [key for _, key in cache.pool])
    cache._offer(12, "middle")  # drops k0 (score 10), goes before the 12 already there
    assert [score for score, _ in cache.pool[:3]] == [11, 12, 12] and cache.pool[1][1] == "middle"


class Coins:
    """A stand-in for the policy's generator: returns the given numbers in turn."""

    def __init__(self, *values):
        self.values = list(values)

    def __call__(self):
        return self.values.pop(0)


def test_lfu_counter_starts_at_5_and_increments_logarithmically():
    cache = filled("redis-lfu", 10, "a")
    assert cache.counter["a"] == LFU_INIT_VAL
    cache._random = Coins(0.99, 0.0909, 0.091, 0.0476, 0.05)
    cache.lookup("a")  # counter 5: p = 1 / (0 * 10 + 1) = 1 -> 6
    assert cache.counter["a"] == 6
    cache.lookup("a")  # counter 6: p = 1/11 = 0.0909...; 0.0909 < p -> 7
    assert cache.counter["a"] == 7
    cache.lookup("a")  # counter 7: p = 1/21 = 0.0476...; 0.091 >= p -> stays 7
    assert cache.counter["a"] == 7
    cache.lookup("a")  # 0.0476 < 1/21 -> 8
    assert cache.counter["a"] == 8
    cache.lookup("a")  # counter 8: p = 1/31; 0.05 >= p -> 8
    assert cache.counter["a"] == 8


def test_lfu_counter_decays_one_per_decay_time_minutes():
    cache = filled("redis-lfu", 10, "a", times=[0], decay_time=2)
    cache.counter["a"] = 9
    cache.advance(5 * 60 + 30)  # 5 minutes later: 5 // 2 = 2 periods
    assert cache.decayed("a") == 7 and cache._score("a") == 255 - 7
    cache._random = Coins(0.5)  # counter 7: p = 1/21, no increment
    cache.lookup("a")  # a read stores the decayed counter, stamped now
    assert (cache.counter["a"], cache.stamped["a"]) == (7, 5)
    cache.advance(3600 * 24)  # a day: decays to 0, never below
    assert cache.decayed("a") == 0
    cache.stamped["a"], cache.minutes = 65530, 4  # the 16-bit minute clock wrapped: 9 minutes
    cache.counter["a"] = 20
    assert cache.decayed("a") == 20 - 9 // 2


def test_lfu_evicts_the_least_frequent_and_an_overwrite_keeps_the_counter():
    cache = filled("redis-lfu", 3, "abc", samples=5)
    cache._random = Coins(*[0.0] * 6)  # every coin increments
    for key in "aabb":
        cache.lookup(key)
    assert cache.counter == {"a": 7, "b": 7, "c": 5}
    cache.insert("d")  # sampled a b c d: scores 248 248 250 250; the tie c/d goes to c, sampled first
    assert "c" not in cache
    cache.insert("a", 1)  # SET over a: read first (+1), the counter kept
    assert cache.counter["a"] == 8


def test_random_evicts_where_the_seeded_generator_points():
    cache = filled("redis-random", 4, "abcd", seed=3)
    draws = random.Random(3)
    keys = list("abcde")
    victim = keys[int(draws.random() * 5)]
    assert cache.insert("e") == [victim]
    assert not cache.timed  # random reads no clock


def test_memory_counts_entries_table_and_baseline():
    baseline = 1000
    entry = redis_entry_bytes(16, 10)
    assert entry == 32 + 32 + 32  # dictEntry 24 -> 32; key sds 1+16+1 -> 32; embstr 16+3+10+1 -> 32
    capacity = baseline + redis_table_bytes(4) + 4 * entry
    cache = make_policy("redis-random", capacity, capacity_bytes=True, baseline=baseline)
    for key in "abcd":
        assert cache.insert(key, 10) == []
    assert cache.used == capacity and cache.buckets == 4
    # The 5th key would need 8 buckets: at 4 keys a bucket (load 1 <= 1.618) the table may
    # grow only if maxmemory allows, and it does not: the table stays, a key is evicted.
    assert len(cache.insert("e", 10)) == 1
    assert cache.buckets == 4 and cache.used == capacity
    victim = cache.keys()[0]
    assert redis_entry_bytes(16, 100) == 32 + 32 + 16 + 112  # raw: object 16, sds 3+100+1 -> 112
    evicted = cache.insert(victim, 100)  # an overwrite with a longer value: 96 more bytes, one key goes
    # Evicting another key (96 bytes) brings memory back to the limit; evicting the new value (192) below it.
    assert len(evicted) == 1 and cache.used == capacity - (96 if evicted == [victim] else 0)


def test_the_table_grows_past_maxmemory_beyond_1_618_keys_a_bucket():
    cache = make_policy("redis-lru", 10**9, capacity_bytes=True, baseline=0)
    for key in range(5):
        cache.insert(key, 10)
    assert cache.buckets == 8  # room for the new table: it doubled when the 5th key came
    tight = make_policy("redis-lru", 10**9, capacity_bytes=True, baseline=0)
    for key in range(4):
        tight.insert(key, 10)
    assert tight.buckets == 4
    for key in range(4, 7):  # maxmemory leaves room for one more key, never for 8 buckets (64 bytes)
        tight.capacity = tight.used + 96
        tight.insert(key, 10)
        assert tight.buckets == 4 and len(tight) == key + 1  # loads 1, 1.25, 1.5: no doubling
    tight.capacity = tight.used + 96
    tight.insert(7, 10)  # 7 keys in 4 buckets: 1.75 > 1.618, the table doubles whatever maxmemory says
    assert tight.buckets == 8 and len(tight) == 7  # and its 32 more bytes cost a key


def test_object_capacity_means_no_memory_model():
    cache = make_policy("redis-lru", 3)
    assert not cache.capacity_bytes and cache.max_object_size == 3
    counts = replay(cache, [1, 2, 3, 1, 4, 1, 5, 1], count_bytes=False)
    assert counts.hits == 3 and len(cache) == 3 and cache.used == 3


def test_a_maxmemory_that_holds_no_key_is_refused():
    with pytest.raises(ValueError, match="a maxmemory of 1000000 bytes holds no key: Redis counts 1038296 bytes"):
        make_policy("redis-lru", 1_000_000, capacity_bytes=True)
    least = 1000 + redis_table_bytes(4) + redis_entry_bytes(16, 0)  # baseline, 4 buckets, one empty value
    # An embedded value takes 16 + 3 + length + 1 bytes: up to 12 bytes stay in the 32-byte class.
    assert make_policy("redis-lfu", least, capacity_bytes=True, baseline=1000).max_object_size == 12
    with pytest.raises(ValueError):
        make_policy("redis-lfu", least - 1, capacity_bytes=True, baseline=1000)


def test_byte_capacity_charges_what_redis_counts():
    cache = make_policy("redis-lru", 2 * 1024 * 1024, capacity_bytes=True, baseline=900_000)
    assert cache.max_object_size < 2 * 1024 * 1024 - 900_000
    cache.insert("big", cache.max_object_size)
    assert "big" in cache
    cache.insert("bigger", cache.max_object_size + 1)
    assert "bigger" not in cache
    assert jemalloc_size(24) == 32


@pytest.mark.parametrize("name", ["redis-lru", "redis-lfu"])
def test_replay_gives_timed_policies_the_trace_times(name):
    keys = [1, 2, 3, 1, 4, 2, 5, 1, 3, 2] * 20
    with_times = replay(make_policy(name, 3, seed=1), keys, times=[i * 0.01 for i in range(len(keys))])
    again = replay(make_policy(name, 3, seed=1), keys, times=[i * 0.01 for i in range(len(keys))])
    assert with_times == again
    virtual = replay(make_policy(name, 3, seed=1), keys)  # one second per request
    assert virtual.requests == with_times.requests == 200


@pytest.mark.parametrize(
    "policy, bad, message",
    [
        ("redis-lru", {"samples": 0}, "samples must be an integer from 1 to 64 (maxmemory-samples"),
        ("redis-lru", {"samples": 65}, "samples must be an integer from 1 to 64"),
        ("redis-lfu", {"log_factor": float("nan")}, "log_factor must be a number from 0 to 2**31 - 1"),
        ("redis-lfu", {"decay_time": 2**31}, "decay_time must be an integer from 0 to 2**31 - 1 minutes"),
        ("redis-random", {"key_bytes": 0}, "key_bytes must be an integer from 1 to 536870912"),
        ("redis-random", {"baseline": 2**51}, "baseline must be an integer from 0 to 2**50 bytes"),
        ("redis-random", {"seed": -1}, "seed must be an integer from 0 to 2**64 - 1"),
    ],
)
def test_parameters_are_bounded_as_redis_bounds_them(policy, bad, message):
    """Each parameter within what Redis's own config takes (and maxmemory-samples, which multiplies the
    work of every eviction, within Redis 8's 64)."""
    with pytest.raises(ValueError, match=re.escape(message)):
        make_policy(policy, 4 * 2**20, capacity_bytes=True, **bad)


def test_the_least_memory_is_what_the_model_refuses_below():
    least = policy_class("redis-lru").least_capacity(True)
    assert make_policy("redis-lru", least, capacity_bytes=True).capacity == least
    with pytest.raises(ValueError, match="holds no key"):
        make_policy("redis-lru", least - 1, capacity_bytes=True)
