"""MQ (policies/mq.py): a hand-traced eviction order with demotions and Qout, and libcachesim's MQ off its defaults."""

import numpy as np
import pytest

from experiments.analysis import replay
from policies import make_policy
from tests.policies.test_hand_traced import trace
from tests.policies.test_libcachesim_parity import live
from tests.policies.tracedata import block_traces, libcachesim_misses, write_oracle_general


def test_mq_promotes_by_count_demotes_idle_keys_and_remembers_counts():
    cache = make_policy("mq", 3, n_queue=3, lifetime=2, qout_size_ratio=1.0)
    hits, evicted = trace(cache, ["a", "a", "b", "c", "d", "b", "a", "e", "f", "c"])
    # Queues by count: 1 -> Q0, 2-3 -> Q1, 4+ -> Q2.  Time ticks after every hit and insert; an
    # access sets expiry = time + 2.  a in Q0 (t1); a hit, count 2 -> Q1 expiring at 3 (t2); b -> Q0
    # (t3); c -> Q0 (t4: a expired, demoted to Q0's MRU end: Q0 [b c a]); d evicts b (Q0's LRU) into
    # Qout with count 1 (t5); b is found in Qout, evicts c, comes back with count 2 into Q1 (t6);
    # a hit: count 3, Q1 [b a] (t7); e evicts d; b expired, demoted: Q0 [e b], Q1 [a] (t8); f evicts
    # e; a expired, demoted: Q0 [b f a] (t9); c back from Qout with count 2, evicting b: Q1 [c].
    assert hits == [False, True, False, False, False, False, True, False, False, False]
    assert evicted == [[], [], [], [], ["b"], ["c"], [], ["d"], ["e"], ["b"]]
    assert cache.keys() == ["f", "a", "c"]
    assert cache.ghost_keys() == ["d", "e", "b"]
    assert (cache.count["a"], cache.count["c"]) == (3, 2)


def test_mq_a_key_too_large_to_cache_loses_its_qout_entry():
    cache = make_policy("mq", 4, qout_size_ratio=1.0)
    trace(cache, ["a", "b", "c", "d", "e"])  # e evicts a into Qout
    assert cache.ghost_keys() == ["a"]
    assert not cache.lookup("a") and cache.insert("a", 5) == []  # found in Qout, too large for the cache
    assert cache.ghost_keys() == [] and "a" not in cache
    cache.lookup("a")
    cache.insert("a")
    assert cache.count["a"] == 1  # its count was not kept for it


@pytest.mark.parametrize(
    "params",
    [
        {"n_queue": 0},
        {"n_queue": 65},
        {"lifetime": 0},
        {"lifetime": 1.5},
        {"qout_size_ratio": 0},
        {"qout_size_ratio": 65},
    ],
)
def test_mq_refuses_bad_parameters(params):
    with pytest.raises(ValueError, match=next(iter(params))):
        make_policy("mq", 10, **params)


@live
@pytest.mark.parametrize("capacity,count_bytes", [(3, False), (300, False), (6300, False), (5_000_000, True)])
def test_mq_with_short_lifetimes_few_queues_and_a_small_qout_equals_libcachesims(tmp_path, capacity, count_bytes):
    keys, sizes = block_traces()["block-io"]
    path = write_oracle_general(tmp_path / "block-io.oracleGeneral.bin", keys, sizes)
    params = {"n_queue": 3, "lifetime": 100, "qout_size_ratio": 0.5}
    ours = replay(make_policy("mq", capacity, **params), keys, sizes, count_bytes=count_bytes)
    assert ours.misses == libcachesim_misses(path, len(keys), "MQ", capacity, count_bytes, **params)


def test_mq_keeps_a_finished_loops_keys_in_its_upper_queues(tmp_path):
    # Thirteen keys in a loop through 8 places, then seven new ones: LRU hits the seven, MQ never
    # does.  Each key comes back from Qout with its count plus one, so the loop's keys end in queue
    # 4, where their lifetime (10,000 requests) keeps them; the new keys cycle through three places.
    keys = np.array([i % 13 for i in range(200)] + [100 + i % 7 for i in range(100)], dtype=np.int64)
    assert replay(make_policy("lru", 8), keys).hits == 93
    cache = make_policy("mq", 8)
    assert replay(cache, keys).hits == 0
    assert cache.keys() == [106, 100, 101, 0, 1, 2, 3, 4]
    assert [cache.level[key] for key in cache.keys()] == [3, 3, 3, 4, 4, 4, 4, 4]


@live
def test_mq_loop_without_hits_is_libcachesims_too(tmp_path):
    keys = np.array([i % 13 for i in range(200)] + [100 + i % 7 for i in range(100)], dtype=np.int64)
    path = write_oracle_general(tmp_path / "loop.oracleGeneral.bin", keys, np.ones(len(keys), dtype=np.int64))
    assert libcachesim_misses(path, len(keys), "MQ", 8, False) == len(keys)
