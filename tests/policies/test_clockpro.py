"""CLOCK-Pro (policies/clockpro.py): a hand-traced run, the paper's behaviour on LIRS's patterns, and
what libcachesim 0.3.5's ClockPro does instead (a static cache: it never evicts)."""

import numpy as np
import pytest

from experiments.analysis import replay
from experiments.analysis.replay import replay_hits
from policies import engine, make_fast_policy, make_policy
from tests.policies.test_libcachesim_parity import live
from tests.policies.tracedata import block_traces, golden_trace, libcachesim_misses, write_oracle_general
from tests.trace_files import lirs_pattern


def test_clockpro_hand_traced_on_both_engines():
    makers = [make_policy] + ([make_fast_policy] if engine() == "compiled" else [])
    for make in makers:
        # Capacity 4: cold target m_c = 1 (its floor), so the hot share is 3.
        cache = make("clockpro", 4)
        evicted = []
        for key in "abcde":
            assert not cache.lookup(key)
            evicted += cache.insert(key)
        # a b c fill the hot share; d comes in cold (in its test period).  e's miss sends HAND_cold past
        # a b c (hot) to d: bit clear, in its test period: evicted, a non-resident key from then on.
        assert evicted == ["d"] and cache.keys() == ["a", "b", "c", "e"]
        # d again, within its test period: HAND_cold evicts e (cold, unreferenced) to make room, d comes
        # back hot and m_c grows to 2; the hot share is now 2, so HAND_hot demotes a then b to cold.
        assert not cache.lookup("d")
        assert cache.insert("d") == ["e"] and cache.keys() == ["a", "b", "c", "d"]
        # A hit sets c's bit only.  f's miss: HAND_cold, after e, passes d (hot), wraps to a: cold,
        # unreferenced, not in a test period (demoted): evicted and gone from the list.
        assert cache.lookup("c") and not cache.lookup("f")
        assert cache.insert("f") == ["a"] and cache.keys() == ["b", "c", "d", "f"]
        if make is make_policy:
            assert cache.hot_keys() == ["c", "d"] and cache.ghost_keys() == ["e"] and cache.cold_target == 2


def test_non_resident_keys_stay_within_the_capacity_and_hand_test_drops_the_oldest():
    cache = make_policy("clockpro", 3)  # hot share 2
    for key in "abc":
        cache.insert(key)
    cache.insert("d")  # evicts c (cold, in test) into a ghost; d is cold in its test period
    cache.insert("e")  # HAND_cold: d goes the same way
    assert cache.ghost_keys() == ["c", "d"] and cache.keys() == ["a", "b", "e"]
    cache.insert("x")  # ghosts stay within the capacity: 3 non-resident keys, HAND_test not yet run
    assert cache.ghost_keys() == ["c", "d", "e"] and cache.cold_target == 1
    cache.insert("y")  # a fourth ghost: HAND_test ends c's test period (c leaves; m_c stays at its floor)
    assert cache.ghost_keys() == ["d", "e", "x"] and cache.keys() == ["a", "b", "y"]


@pytest.mark.parametrize("capacity", [500, 1000])
def test_on_lirs_loop_clockpro_is_lirs_and_within_a_percent_of_belady_where_lru_misses_everything(capacity):
    # The loop (1,500 blocks) is longer than the cache: LRU misses every request; CLOCK-Pro, as LIRS,
    # keeps a fixed hot part of the loop (the paper's section 5: it must beat LRU there).
    keys = lirs_pattern("loop")
    ours = replay(make_policy("clockpro", capacity), keys).misses
    assert replay(make_policy("lru", capacity), keys).misses == len(keys)
    assert ours == replay(make_policy("lirs", capacity), keys).misses
    assert ours - replay(make_policy("belady", capacity), keys).misses <= 0.01 * len(keys)


@pytest.mark.parametrize("pattern", ["two-pools", "hot-and-scan", "multi"])
def test_on_lirs_mixed_patterns_clockpro_beats_lru_and_is_within_two_percent_of_lirs(pattern):
    # (On "zigzag" LRU is optimal and neither LIRS nor CLOCK-Pro reaches it.)
    keys = lirs_pattern(pattern)
    for capacity in (150, 600):
        ours = replay(make_policy("clockpro", capacity), keys).misses
        assert ours < replay(make_policy("lru", capacity), keys).misses
        assert ours <= 1.02 * replay(make_policy("lirs", capacity), keys).misses


def test_the_compiled_kernel_equals_the_python_policy_on_random_traces():
    if engine() != "compiled":
        pytest.skip("the compiled engine is not running")
    for seed in range(12):
        rng = np.random.default_rng(seed)
        n_objects = int(rng.integers(3, 300))
        keys = rng.zipf(1.2, 3000) % n_objects
        sizes = rng.integers(1, 50, 3000)
        for capacity, count_bytes in [(int(rng.integers(1, 60)), False), (int(rng.integers(1, 2000)), True)]:
            reference, fast = make_policy("clockpro", capacity), make_fast_policy("clockpro", capacity)
            expected = replay_hits(reference, keys, sizes, count_bytes)
            np.testing.assert_array_equal(replay_hits(fast, keys, sizes, count_bytes), expected)
            assert (fast.keys(), fast.used) == (reference.keys(), reference.used)
            assert reference.ghost_used <= capacity


# -- libcachesim 0.3.5's ClockPro ---------------------------------------------------------------


def first_fit_misses(keys, sizes, limit, count_bytes):
    """Misses of a cache that admits each new object while it fits in `limit` units and never evicts."""
    held, used, misses = set(), 0, 0
    for key, size in zip(keys.tolist(), sizes.tolist()):
        if key in held:
            continue
        misses += 1
        size = size if count_bytes else 1
        if used + size <= limit:
            held.add(key)
            used += size
    return misses


@live
@pytest.mark.parametrize("trace", ["golden", "block-io"])
@pytest.mark.parametrize("capacity,count_bytes", [(3, False), (200, False), (150_000, True)])
@pytest.mark.parametrize("cold_ratio", [None, 1.0])
def test_libcachesims_clockpro_is_a_static_cache_of_the_first_objects_to_fit_its_cold_target(
    tmp_path, trace, capacity, count_bytes, cold_ratio
):
    # Its can_insert refuses an object when the cold objects plus it would pass the cold target (a
    # share of the cache: the Python package's init_ratio_cold=0.5 by default, the C code's 1); every new
    # object is cold, and only an eviction ever makes one hot, so the cache is never full enough to
    # evict: it keeps the first objects that fit and refuses every other.
    keys, sizes = golden_trace() if trace == "golden" else block_traces()["block-io"]
    path = write_oracle_general(tmp_path / "trace.oracleGeneral.bin", keys, sizes)
    params = {} if cold_ratio is None else {"init_ratio_cold": cold_ratio}
    theirs = libcachesim_misses(path, len(keys), "ClockPro", capacity, count_bytes, **params)
    assert theirs == first_fit_misses(keys, sizes, int(capacity * (cold_ratio or 0.5)), count_bytes)
    ours = replay(make_policy("clockpro", capacity), keys, sizes, count_bytes=count_bytes).misses
    assert ours < theirs or theirs == len(np.unique(keys))  # (or both miss only the first requests)


@live
def test_where_everything_fits_in_half_the_cache_both_miss_only_the_first_requests(tmp_path):
    keys = np.tile(np.arange(40), 25)
    sizes = np.ones(len(keys), dtype=np.int64)
    path = write_oracle_general(tmp_path / "loop.oracleGeneral.bin", keys, sizes)
    assert libcachesim_misses(path, len(keys), "ClockPro", 80, False) == 40
    assert replay(make_policy("clockpro", 80), keys).misses == 40
