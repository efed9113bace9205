"""LHD (policies/lhd.py): the hit-density model by hand, a hand-traced eviction order, both engines alike,
and the same misses as libcachesim 0.3.5, request for request.

libcachesim draws from a generator kept per thread that starts at the same state in every thread and is
never reset; our ``seed=0`` starts there, so libcachesim run in a fresh thread makes our draws.
"""

import os

import numpy as np
import pytest

from experiments.analysis import replay
from experiments.analysis.replay import replay_hits
from policies import PolicyError, engine, make_fast_policy, make_policy
from policies.lhd import LOWEST_RANK, MAX_AGE, f32, hit_age_class, model_hit_density, rescale
from tests.policies.tracedata import (
    CLOUDPHYSICS,
    fresh_thread_misses,
    golden_trace,
    long_parity_files,
    parity_files,
    write_oracle_general,
    zipf_trace,
)

try:
    import libcachesim as lcs
except ImportError:
    lcs = None
live = pytest.mark.skipif(
    lcs is None or lcs.__version__ != "0.3.5", reason="parity is pinned to libcachesim 0.3.5 (pip install)"
)
#: a million requests and more: the compiled engine's (the reference would take minutes; both engines agree)
compiled = pytest.mark.skipif(engine() != "compiled", reason="the compiled engine is not running")
long_run = pytest.mark.skipif(
    not os.environ.get("KVSIM_LONG_TESTS"), reason="a long parity campaign: set KVSIM_LONG_TESTS=1 to run it"
)


# -- the model ---------------------------------------------------------------------------------------


def test_hit_density_is_hits_ahead_over_the_lifetime_ahead():
    # Ages 0..3: one eviction at age 0, two hits at age 1, one at 2, an eviction at 3 (the last age,
    # whose density is never modelled: an object there ranks lowest).
    hits = np.array([0, 2, 1, 0], dtype=np.float32)
    evictions = np.array([1, 0, 0, 1], dtype=np.float32)
    densities = np.full(4, -1, dtype=np.float32)
    model_hit_density(hits, evictions, densities)
    # From age 2: one hit ahead; lifetimes ahead 1 (the hit at 2) + 2 (the eviction at 3) = 3.
    # From age 1: three hits; 2 x 1 + 1 x 2 + 1 x 3 = 7.  From age 0: 3 / (1 + 2 x 2 + 3 + 4) = 3 / 12.
    assert densities.tolist() == [f32(3 / 12), f32(3 / 7), f32(1 / 3), -1]


def test_ages_without_events_ahead_have_density_zero():
    hits = np.array([1, 0, 0, 0], dtype=np.float32)
    densities = np.full(4, -1, dtype=np.float32)
    model_hit_density(hits, np.zeros(4, dtype=np.float32), densities)
    assert densities.tolist() == [1, 0, 0, -1]


def test_hit_age_classes_count_doublings_up_to_max_age():
    assert [hit_age_class(age) for age in (0, 1, 2, 10_000, 9_999, 19_999, 20_000, 40_000)] == [
        15, 15, 14, 1, 2, 1, 0, 0
    ]  # fmt: skip


def test_rescaling_adds_ages_up_when_coarser_and_spreads_them_when_finer():
    counts = np.zeros(MAX_AGE, dtype=np.float32)
    counts[[0, 1, 2, 5, 19_999]] = [1, 2, 4, 8, 16]
    coarse = counts.copy()
    rescale(coarse, 2)  # ages 4a .. 4a + 3 -> a
    # The last age's count lands in age 4,999 with ages 19,996..19,998 and also stays in the last age, as
    # libCacheSim's loop does (its blocks cover every age when 2**delta divides MAX_AGE).
    assert coarse[:2].tolist() == [7, 8] and coarse[4999] == 16 and coarse[-1] == 16
    assert coarse[2:-1].sum() == 16
    fine = counts.copy()
    rescale(fine, -1)  # age a takes half of age a // 2; ages from 10,000 on go to the last
    assert fine[:6].tolist() == [0.5, 0.5, 1, 1, 2, 2] and fine[10:12].tolist() == [4, 4]
    assert fine[-1] == 16


def test_a_rank_is_the_density_at_the_keys_age_per_unit_of_size():
    cache = make_policy("lhd", 100)
    for key in "ab":
        cache.insert(key, 4)
    # Before any reconfiguration, a new key (class 0 of 16: libCacheSim's 16) has density 17 / (age + 1).
    assert cache.rank("a") == 17 / 4
    cache.clock += 3 << cache.shift  # three (coarsened) ages later
    assert cache.rank("a") == f32(f32(17 / 4) / 4)
    cache.explorers.add("a")
    assert cache.rank("a") == f32(f32(17 / 4) / 4) + 1
    cache.clock += MAX_AGE << cache.shift
    assert cache.rank("b") == LOWEST_RANK


# -- hand-traced ------------------------------------------------------------------------------------


def test_lhd_evicts_the_sampled_key_of_least_density():
    cache = make_policy("lhd", 3)
    hits, evicted = [], []
    for key in ["a", "b", "c", "a", "d", "e", "b", "f"]:
        hit = cache.lookup(key)
        hits.append(hit)
        evicted.append([] if hit else cache.insert(key))
    # Every update draws once (one in 32 explores; the budget, 1% of 3, is 0).  Before a reconfiguration
    # a never-hit key ranks 17, a hit one 32 (its hit ages, 0 + 0, give class 15: 32 / 1).
    # d: samples (draw % 3) 0, 0, 2, ...: a (32), a, c (17) -> c, the first of least rank; [a b d]
    # e: samples 2, 2, 0, ...: d (17) first -> d; [a b e]
    # f: after b's hit, a and b rank 32: samples 0, 0, 0, 2 -> e
    assert hits == [False, False, False, True, False, False, True, False]
    assert evicted == [[], [], [], [], ["c"], ["d"], [], ["e"]]
    assert cache.keys() == ["a", "b", "f"]
    assert [cache.rank(key) for key in cache.keys()] == [32, 32, 17]
    # The victims' running mean, float32: 0 -> 1.7 -> 3.23 -> 4.607 (0.9 x mean + 0.1 x 17, rounded each step)
    assert [round(cache.mean_victim_rank, 4), cache.recently_admitted] == [4.607, [None] * 8]


def test_bad_parameters_are_refused_in_one_line():
    for params, text in [
        ({"associativity": 0}, "associativity must be an integer in [1, 65536]"),
        ({"admissions": 2**16 + 1}, "admissions must be an integer in [1, 65536]"),
        ({"reconfiguration_interval": 0}, "reconfiguration_interval must be an integer in [1, 4611686018427387904]"),
        ({"seed": -1}, "seed must be an integer in [0, 18446744073709551615]"),
    ]:
        with pytest.raises((PolicyError, ValueError), match=text.replace("[", r"\[").replace("]", r"\]")):
            make_policy("lhd", 10, **params)


# -- both engines -----------------------------------------------------------------------------------

# Reconfiguring every few hundred updates runs the learning (decay, re-fitted coarsening at the 6th and
# 26th, full sampling after the 51st, explorers until the 50th) within a short trace.
ENGINE_CASES = [
    (60, False, {"reconfiguration_interval": 300}),
    (150_000, True, {"reconfiguration_interval": 250, "associativity": 5, "admissions": 3, "seed": 9}),
]


@pytest.mark.parametrize("capacity,count_bytes,params", ENGINE_CASES)
def test_the_kernel_learns_as_the_reference_does(capacity, count_bytes, params):
    keys, sizes = zipf_trace(16_000, 1500, 0.9, seed=6, size_sigma=0.8)
    reference = make_policy("lhd", capacity, **params)
    compiled = make_fast_policy("lhd", capacity, **params)
    expected = replay_hits(reference, keys, sizes, count_bytes)
    np.testing.assert_array_equal(replay_hits(compiled, keys, sizes, count_bytes), expected)
    assert reference.reconfigurations > 51 and compiled.keys() == reference.keys()


# -- libcachesim 0.3.5 ------------------------------------------------------------------------------


def libcachesims_misses(path, n_requests, capacity, count_bytes):
    """libcachesim's LHD misses, run in a fresh thread: its generator at its first state, as ours at seed 0."""
    return fresh_thread_misses(path, n_requests, "LHD", capacity, count_bytes)


# Misses on golden_trace() at its parity capacities (test_libcachesim_parity.py: 200 and 500 objects,
# 150,000 and 280,000 bytes), from libcachesim 0.3.5 run in a fresh thread (2026-12-06); ours the same.
GOLDEN_CAPACITIES = [(200, False), (500, False), (150_000, True), (280_000, True)]
GOLDEN = (2817, 1555, 2270, 1649)


@pytest.mark.parametrize("point", range(4))
def test_golden_misses(point):
    capacity, count_bytes = GOLDEN_CAPACITIES[point]
    keys, sizes = golden_trace()
    assert replay(make_policy("lhd", capacity), keys, sizes, count_bytes=count_bytes).misses == GOLDEN[point]


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    return parity_files(tmp_path_factory.mktemp("lhd"))


PARITY_POINTS = (
    [
        ("zipf-0.9", capacity, count_bytes)
        for capacity, count_bytes in [(5, False), (200, False), (1000, False), (198_050, True), (2_970_753, True)]
    ]
    + [
        ("block-io", capacity, count_bytes)
        for capacity, count_bytes in [(5, False), (300, False), (6300, False), (5_000_000, True), (80_000_000, True)]
    ]
    + [
        ("cloudphysics", capacity, count_bytes)
        for capacity, count_bytes in [(1000, False), (20000, False), (5_000_000, True), (500_000_000, True)]
    ]
)


@live
@pytest.mark.parametrize("trace,capacity,count_bytes", PARITY_POINTS)
def test_the_same_misses_as_libcachesim(traces, trace, capacity, count_bytes):
    if trace not in traces:
        pytest.skip(f"{CLOUDPHYSICS} is not here")
    keys, sizes, path = traces[trace]
    ours = replay(make_fast_policy("lhd", capacity), keys, sizes, count_bytes=count_bytes).misses
    assert ours == libcachesims_misses(path, len(keys), capacity, count_bytes)


@live
@compiled
def test_the_same_misses_as_libcachesim_past_a_reconfiguration(tmp_path):
    keys, sizes = zipf_trace(1_100_000, 20_000, 0.9, seed=12)  # one reconfiguration, at 2**20 updates
    path = write_oracle_general(tmp_path / "zipf.bin", keys, sizes)
    policy = make_fast_policy("lhd", 2000)
    assert replay(policy, keys, sizes).misses == libcachesims_misses(path, len(keys), 2000, False) == 453_054


@pytest.fixture(scope="module")
def seven_million(tmp_path_factory):
    return long_parity_files(tmp_path_factory.mktemp("seven-million"), 7_000_000)


@live
@compiled
@long_run
@pytest.mark.parametrize("trace", ["zipf", "block-io"])
@pytest.mark.parametrize("capacity,count_bytes", [(100, False), (5000, False), (13_000_000, True)])
def test_the_same_misses_as_libcachesim_over_seven_million_requests(seven_million, trace, capacity, count_bytes):
    """Six reconfigurations: the age coarsening re-fitted at the sixth."""
    keys, sizes, path = seven_million[trace]
    ours = replay(make_fast_policy("lhd", capacity), keys, sizes, count_bytes=count_bytes).misses
    assert ours == libcachesims_misses(path, len(keys), capacity, count_bytes)
