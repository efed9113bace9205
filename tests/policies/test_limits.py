"""The limits of policies/limits.py: what a policy refuses, and the two engines agreeing up to it.

The compiled engine keeps capacities, sizes and counters in 64-bit integers,
so every value is bounded before it reaches C: capacities at 2**50, sizes
above the capacity never cached (however large), and every parameter a kernel keeps in a fixed-width field in its own range.
Here each bound is refused one step past it (an error naming the parameter
and the range) and both engines give the same hits at both ends of it; LFU-DA
in libCacheSim's aging, whose keys double, stops with the same error in both.
"""

import numpy as np
import pytest

from experiments.analysis import replay
from experiments.analysis.replay import replay_hits
from policies import PolicyError, engine, make_fast_policy, make_policy, policy_class
from policies.compiled import compiled_names
from policies.limits import MAX_CAPACITY, check_int
from tests.policies.tracedata import zipf_trace

needs_kernels = pytest.mark.skipif(engine() != "compiled", reason="the compiled engine is not running")

KEYS, SIZES = zipf_trace(6000, 300, 0.9, seed=7, size_sigma=0.7)


def same_hits(name, capacity, keys=KEYS, sizes=SIZES, count_bytes=False, **params):
    """The hits of both engines on a replay, asserted equal; the Python policy's."""
    reference = make_policy(name, capacity, **params)
    expected = replay_hits(reference, keys, sizes, count_bytes)
    if engine() == "compiled":
        fast = make_fast_policy(name, capacity, **params)
        np.testing.assert_array_equal(replay_hits(fast, keys, sizes, count_bytes), expected)
        assert (fast.used, fast.keys()) == (reference.used, reference.keys())
    return expected


# -- capacities and sizes ----------------------------------------------------------------------


@pytest.mark.parametrize("name", compiled_names())
def test_a_capacity_past_the_limit_is_refused_by_every_policy(name):
    with pytest.raises(
        ValueError, match=r"capacity must be at most 2\*\*50 \(1 PiB, or as many objects\); got 1125899906842625"
    ):
        make_policy(name, MAX_CAPACITY + 1)
    with pytest.raises(ValueError, match="capacity must be at most 2"):  # the 2**63 - 1
        make_policy(name, 2**63 - 1)


@pytest.mark.parametrize("name", [name for name in compiled_names() if not policy_class(name).offline])
def test_at_the_largest_capacity_both_engines_count_the_same_bytes(name):
    # Objects of 2**48 .. 2**50 bytes, and far larger ones (never cached), in a cache of 2**50.
    # (The case, capacity 2**63 - 1 and three 2**62 objects all kept with used =
    # -4.6e18 in C, is refused above.)
    keys = np.array([1, 2, 3, 1, 4, 2, 5, 5, 1, 3, 2, 4, 6], dtype=np.int64)
    sizes = np.array([2**50, 2**49, 2**49, 2**48, 2**50, 2**48, 2**49, 2**49, 2**48, 2**48, 2**49, 2**48, 2**62])
    hits = same_hits(name, MAX_CAPACITY, keys, sizes, count_bytes=True)
    policy = make_policy(name, MAX_CAPACITY)
    for key, size in zip(keys, sizes):
        policy.access(int(key), int(size))
        assert 0 <= policy.used <= MAX_CAPACITY
    assert len(hits) == len(keys)


@needs_kernels
@pytest.mark.parametrize("name", ["lru", "lfuda", "gdsf", "s3fifo", "wtinylfu"])
def test_sizes_beyond_int64_are_never_cached_by_either_engine(name):
    reference, fast = make_policy(name, 1000), make_fast_policy(name, 1000)
    for key, size in [(1, 10), (2, 2**64), (3, 2**70), (1, 10), (2, 5)]:
        assert fast.access(key, size) == reference.access(key, size)
        assert fast.insert(key, size) == reference.insert(key, size)
        assert (fast.keys(), fast.used) == (reference.keys(), reference.used)


def test_check_int_names_the_parameter_and_its_range():
    assert check_int("bits", 3.0, 1, 32) == 3
    for bad in (0, 33, 2.5, True, "3", float("nan"), float("inf"), None):
        with pytest.raises(ValueError, match=r"bits must be an integer in \[1, 32\]"):
            check_int("bits", bad, 1, 32)


# -- every parameter a kernel keeps in a fixed-width field ----------------------------------

# (policy, parameter, lowest, highest, one past each end) with the other parameters at defaults
RANGES = [
    ("clock", "bits", 1, 32, 0, 33),
    ("clock", "init_freq", 0, 255, -1, 256),
    ("slru", "n_seg", 1, 64, 0, 65),
    ("s3fifo", "move_to_main_threshold", 1, 2**31 - 1, 0, 2**31),
    ("s3fifo", "ghost_size_ratio", 0.0, 1.0, -0.01, 1.01),
    ("twoq", "aout_size_ratio", 0.0, 1.0, -0.01, 1.01),
    # issue 22's: int32 K and queue counts, an int64 clock plus the lifetime, int(1 / p) in an int
    ("lruk", "k", 1, 64, 0, 65),
    ("mq", "n_queue", 1, 64, 0, 65),
    ("mq", "lifetime", 1, 2**62, 0, 2**62 + 1),
    ("mq", "qout_size_ratio", 1e-9, 64.0, 0.0, 64.01),
    ("lruprob", "prob", 2**-30, 1.0, 2**-31, 1.01),
    ("flashprob", "disk_admit_prob", 2**-30, 1.0, 2**-31, 1.01),
    ("lruprob", "seed", 0, 2**64 - 1, -1, 2**64),
    ("flashprob", "seed", 0, 2**64 - 1, -1, 2**64),
    ("hyperbolic", "seed", 0, 2**64 - 1, -1, 2**64),
    ("lecar", "seed", 0, 2**64 - 1, -1, 2**64),
    ("lhd", "seed", 0, 2**64 - 1, -1, 2**64),
    ("lhd", "associativity", 1, 2**16, 0, 2**16 + 1),
    ("glcache", "segment_size", 4, 10**8, 3, 10**8 + 1),  # libCacheSim's int bounds (n_merge: 2..100)
    ("glcache", "retrain_intvl", 1, 2**31 - 2, 0, 2**31 - 1),  # an int, and + 1 still one
    ("cacheus", "seed", 0, 2**64 - 1, -1, 2**64),
]


@pytest.mark.parametrize("name,param,low,high,below,above", RANGES)
def test_each_bounded_parameter_is_refused_past_its_range(name, param, low, high, below, above):
    for bad in (below, above, float("nan")):
        with pytest.raises(ValueError, match=param):
            make_policy(name, 100, **{param: bad})


@pytest.mark.parametrize("name,param,low,high,below,above", RANGES)
@pytest.mark.parametrize("end", ["low", "high"])
@pytest.mark.parametrize("capacity,count_bytes", [(40, False), (200_000, True)])
def test_both_engines_agree_at_both_ends_of_each_range(
    name, param, low, high, below, above, end, capacity, count_bytes
):
    same_hits(name, capacity, count_bytes=count_bytes, **{param: low if end == "low" else high})


@pytest.mark.parametrize("count_bytes", [False, True])
def test_hyperbolics_sample_count_is_an_int32_and_both_engines_take_either_end(count_bytes):
    for bad in (0, 2**31, 1.5):
        with pytest.raises(ValueError, match=r"n_sample must be an integer in \[1, 2147483647\]"):
            make_policy("hyperbolic", 100, n_sample=bad)
    capacity = 40 if not count_bytes else 200_000
    assert same_hits("hyperbolic", capacity, count_bytes=count_bytes, n_sample=1).mean() > 0
    # 2**31 - 1 samples per eviction: accepted, and run on a cache that holds every key (no eviction).
    roomy = int(SIZES.sum()) if count_bytes else 300
    assert same_hits("hyperbolic", roomy, count_bytes=count_bytes, n_sample=2**31 - 1).sum() == len(KEYS) - 300


def test_clock_with_the_widest_counter_keeps_what_python_keeps():
    # The case: bits >= 64 wrapped the kernel's maximum count (hit ratio 0.3155 compiled,
    # 0.4395 Python).  Now 64 is refused and 32, the widest, agrees.
    with pytest.raises(ValueError, match=r"bits must be an integer in \[1, 32\], got 64"):
        make_policy("clock", 100, bits=64)
    hits = same_hits("clock", 30, bits=32)
    assert hits.mean() > same_hits("clock", 30, bits=1).mean()


@pytest.mark.parametrize(
    "segments,ok", [((1,) * 64, True), ((1,) * 65, False), ((1, float("inf")), False), ((1, float("nan")), False)]
)
def test_slru_segments_are_bounded_in_number_and_finite(segments, ok):
    if ok:
        same_hits("slru", 640, segments=segments)
    else:
        with pytest.raises(ValueError, match="segments must be 1 to 64 positive finite relative sizes"):
            make_policy("slru", 640, segments=segments)


@pytest.mark.parametrize(
    "params,message",
    [
        ({"threshold": 2**50 + 2}, r"threshold must be an integer in \[1, 1125899906842625\]"),
        ({"threshold": 0}, "threshold must be an integer"),
    ],
)
def test_the_size_filter_threshold_is_bounded(params, message):
    with pytest.raises(ValueError, match=message):
        make_policy("lru", 100, admission="size", admission_params=params)


@pytest.mark.parametrize(
    "params,message",
    [
        ({"expected_items": 2**26 + 1}, r"expected_items must be an integer in \[1, 67108864\]"),
        ({"min_frequency": 2**31}, "min_frequency must be an integer"),
        ({"sample_size": 0}, "sample_size must be an integer"),
        ({"false_positive_rate": 0.0}, r"false_positive_rate must be in \(0, 1\)"),
        ({"false_positive_rate": float("nan")}, r"false_positive_rate must be in \(0, 1\)"),
    ],
)
def test_tinylfu_parameters_are_bounded(params, message):
    with pytest.raises(ValueError, match=message):
        make_policy("lru", 100, admission="tinylfu", admission_params=params)


def test_the_largest_size_threshold_admits_the_largest_object_in_both_engines():
    keys = np.array([1, 1, 2, 3, 2], dtype=np.int64)
    sizes = np.array([2**50, 2**50, 2**49, 2**49, 2**49])
    params = {"admission": "size", "admission_params": {"threshold": 2**50 + 1}}
    # 1 fills the cache; 2 evicts it; 3 fits beside 2 (2**49 + 2**49 = 2**50)
    assert list(same_hits("lru", MAX_CAPACITY, keys, sizes, count_bytes=True, **params)) == [0, 1, 0, 0, 1]


# -- LFU-DA: the paper's keys stay small; libCacheSim's stop with an error ---------------------


def test_lfuda_libcachesim_keys_double_until_both_engines_refuse():
    # Capacity 10 over 14 keys: every hit adds the age to the key, the age follows the
    # keys up, and they pass 2**63 - 1 after about 1,200 requests.
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 14, 20_000)
    message = r"lfuda \(aging = 'libcachesim'\): a key passed 2\*\*63 - 1"
    with pytest.raises(PolicyError, match=message):
        replay(make_policy("lfuda", 10, aging="libcachesim"), keys)
    if engine() == "compiled":
        with pytest.raises(PolicyError, match=message):
            replay(make_fast_policy("lfuda", 10, aging="libcachesim"), keys)
        fast, reference = (
            make_fast_policy("lfuda", 10, aging="libcachesim"),
            make_policy("lfuda", 10, aging="libcachesim"),
        )
        served = 0
        for key in keys.tolist():  # key by key: the same request fails in both
            try:
                hit = reference.access(key)
            except PolicyError:
                with pytest.raises(PolicyError, match=message):
                    fast.access(key)
                break
            assert fast.access(key) == hit
            served += 1
        assert 500 < served < 5000
        assert fast.keys() == reference.keys()


def test_lfuda_paper_agrees_in_both_engines_on_a_long_zipf_trace():
    # The case (1M Zipf(1.1) requests at capacity 100: 385,180 hits compiled against
    # 399,482 Python, as the kernel's libCacheSim keys wrapped), in the paper's aging, shorter.
    keys, _ = zipf_trace(300_000, 100_000, 1.1, seed=11)
    hits = same_hits("lfuda", 100, keys, None)
    assert 0.45 < hits.mean() < 0.6  # 0.518
