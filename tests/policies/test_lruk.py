"""LRU-K (policies/lruk.py): a hand-traced eviction order, K = 1 is LRU, and libcachesim's LRUK at K = 3."""

import pytest

from experiments.analysis import replay
from policies import make_policy
from tests.policies.test_hand_traced import trace
from tests.policies.test_libcachesim_parity import live
from tests.policies.tracedata import block_traces, libcachesim_misses, write_oracle_general, zipf_trace


def test_lruk_evicts_the_once_seen_first_then_the_oldest_second_to_last_request():
    cache = make_policy("lruk", 3)  # K = 2
    hits, evicted = trace(cache, ["a", "b", "a", "c", "d", "b", "e", "a", "b", "e", "f", "g"])
    # Times tick at each lookup and each insert: a in at 2, b in at 4, a hit at 5 -> a ranked at 2
    # (its second-to-last request); young FIFO [b]; c in -> [b c]; d evicts b (young, oldest) ->
    # [c d]; b evicts c -> [d b]; e evicts d -> [b e]; a hit (5, 14) -> ranked at 5; b hit (11, 15)
    # -> ranked at 11; e hit (13, 16) -> ranked at 13; f evicts a (ranked at 5, the oldest) -> young
    # [f]; g evicts f: a key seen once goes before any key seen twice.
    assert hits == [False, False, True, False, False, False, False, True, True, True, False, False]
    assert evicted == [[], [], [], [], ["b"], ["c"], ["d"], [], [], [], ["a"], ["f"]]
    assert cache.keys() == ["g", "b", "e"]


def test_lruk_forgets_the_history_of_an_evicted_key():
    cache = make_policy("lruk", 2)
    trace(cache, ["a", "a", "b", "c"])  # a ranked, b young; c evicts b -> young [c]
    assert cache.keys() == ["c", "a"]
    trace(cache, ["b"])  # b again evicts c: it starts over at one request, in the FIFO
    assert cache.keys() == ["b", "a"]


def test_lruk_with_k_1_is_lru():
    keys, sizes = zipf_trace(5000, 500, 0.9, seed=2)
    for capacity, count_bytes in ((50, False), (400_000, True)):
        lruk = replay(make_policy("lruk", capacity, k=1), keys, sizes, count_bytes=count_bytes)
        lru = replay(make_policy("lru", capacity), keys, sizes, count_bytes=count_bytes)
        assert lruk.misses == lru.misses


@pytest.mark.parametrize("k", [0, 65, 2.5, True])
def test_lruk_refuses_a_bad_k(k):
    with pytest.raises(ValueError, match="k must be an integer in"):
        make_policy("lruk", 10, k=k)


@live
@pytest.mark.parametrize("capacity,count_bytes", [(3, False), (300, False), (6300, False), (5_000_000, True)])
def test_lruk_with_k_3_equals_libcachesims(tmp_path, capacity, count_bytes):
    keys, sizes = block_traces()["block-io"]
    path = write_oracle_general(tmp_path / "block-io.oracleGeneral.bin", keys, sizes)
    ours = replay(make_policy("lruk", capacity, k=3), keys, sizes, count_bytes=count_bytes)
    assert ours.misses == libcachesim_misses(path, len(keys), "LRUK", capacity, count_bytes, k=3)
