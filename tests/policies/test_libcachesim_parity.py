"""Our miss counts equal libcachesim 0.3.5's, to the miss.

(Over 450 lines: the golden counts and every family of parity cases side by side.)

For each policy the same request sequence goes through our ``replay`` and
through libcachesim's ``process_trace`` (from an oracleGeneral file), with a
capacity counting objects (libcachesim's reader option ``ignore_obj_size``)
and one counting bytes, small and large relative to the working set.

* Golden miss counts, taken from libcachesim 0.3.5 on a small generated
  trace and written below, check every policy and admission filter always,
  even where libcachesim cannot be installed; where it can, libcachesim is
  checked against them too, so a drift on either side is caught.
* Generated Zipf traces and a generated block-I/O trace (one-hit runs,
  immediate repeats, sizes of 512 B to 68 KiB), written to a temporary
  directory, run with libcachesim.
* The shared CloudPhysics trace, the block-I/O trace that one stands for,
  runs too where ``../shared`` exists.

Exact for every deterministic policy: LRU, FIFO, CLOCK, SIEVE, LFU, SLRU, 2Q,
ARC, LIRS, S3-FIFO, Belady, and also W-TinyLFU, LFU-DA and GDSF (for which
0.005 of the miss ratio would be enough).  RANDOM cannot be exact (two
generators): the mean of a few seeds is within 0.005.  LIRS is exact while
``self_evicting_hits`` stays 0 (see policies/lirs.py), which the test checks;
one test shows the small difference where it does not.
"""

import os

import numpy as np
import pytest

from experiments.analysis import replay
from policies import make_fast_policy, make_policy, policy_class
from tests.policies.tracedata import (
    CLOUDPHYSICS,
    block_traces,
    golden_trace,
    libcachesim_misses,
    libcachesim_run,
    read_oracle_general,
    write_oracle_general,
    zipf_trace,
)
from tests.trace_files import block_io_trace

try:
    import libcachesim as lcs
except ImportError:
    lcs = None
if lcs is None:
    NOT_LIVE = "libcachesim (pip install libcachesim==0.3.5) is not importable"
elif lcs.__version__ != "0.3.5":
    NOT_LIVE = f"parity is pinned to libcachesim 0.3.5, found {lcs.__version__}"
else:
    NOT_LIVE = ""
#: the tests that run libcachesim itself
live = pytest.mark.skipif(bool(NOT_LIVE), reason=NOT_LIVE)

LIBCACHESIM = {
    "lru": "LRU",
    "fifo": "FIFO",
    "clock": "Clock",
    "sieve": "Sieve",
    "lfu": "LFU",
    "slru": "SLRU",
    "twoq": "TwoQ",
    "arc": "ARC",
    "lirs": "LIRS",
    "s3fifo": "S3FIFO",
    "belady": "Belady",
    "wtinylfu": "WTinyLFU",
    "lfuda": "LFUDA",
    "gdsf": "GDSF",
    "random": "Random",
    "lruk": "LRUK",
    "mq": "MQ",
    "clock2qplus": "Clock2QPlus",
    "glcache": "GLCache",  # exact before its first model: no trace here spans its day (tests/policies/test_glcache.py)
}
EXACT = [name for name in LIBCACHESIM if name != "random"]

# Two Zipf traces with one size per object; capacities: (value, count_bytes).
# Working sets: "zipf-0.9" 2000 objects / 9.9 MB, "zipf-1.1" 2000 objects / 11.4 MB.
ZIPF = {
    "zipf-0.9": dict(n_requests=20000, n_objects=2000, alpha=0.9, seed=4, size_sigma=0.7),
    "zipf-1.1": dict(n_requests=20000, n_objects=2000, alpha=1.1, seed=3, size_sigma=1.0),
}
ZIPF_CAPACITIES = {
    "zipf-0.9": [(200, False), (1000, False), (198_050, True), (2_970_753, True)],
    "zipf-1.1": [(200, False), (600, False), (3_432_068, True), (6_864_136, True)],
}
# Block-I/O traces: "block-io" generated (30,000 requests, 15,436 objects, 654 MB), "cloudphysics" where
# ../shared has it (113,872 requests, 48,974 objects, 2.03 GB).  Capacities: 2% and 40% of the objects;
# 5 MB (a hundred or so objects) and an eighth (block-io) or a quarter (cloudphysics) of the bytes.  Not
# 0.25% of block-io's bytes, as 5 MB is of cloudphysics': there libcachesim's LFUDA takes minutes.
BLOCK_TRACES = block_traces()
BLOCK_CAPACITIES = {
    "block-io": [(300, False), (6300, False), (5_000_000, True), (80_000_000, True)],
    "cloudphysics": [(1000, False), (20000, False), (5_000_000, True), (500_000_000, True)],
}


@pytest.fixture(scope="module")
def zipf_traces(tmp_path_factory):
    directory = tmp_path_factory.mktemp("zipf")
    traces = {}
    for name, spec in ZIPF.items():
        keys, sizes = zipf_trace(**spec)
        traces[name] = (keys, sizes, write_oracle_general(directory / f"{name}.oracleGeneral.bin", keys, sizes))
    return traces


@pytest.fixture(scope="module")
def block_io_traces(tmp_path_factory):
    """(keys, sizes, oracleGeneral file) of each block-I/O trace: the shared one's own file, or one written."""
    directory = tmp_path_factory.mktemp("block-io")
    traces = {}
    for name, (keys, sizes) in BLOCK_TRACES.items():
        if name == "cloudphysics":
            path = CLOUDPHYSICS  # libcachesim reads the sample's own file
        else:
            path = write_oracle_general(directory / f"{name}.oracleGeneral.bin", keys, sizes)
        traces[name] = (keys, sizes, path)
    return traces


#: our parameters that give libCacheSim's variant where the default differs (LFU-DA: the paper's aging)
LIBCACHESIM_PARAMS = {"lfuda": {"aging": "libcachesim"}}


def ours(name, keys, sizes, capacity, count_bytes, times=None, **params):
    policy = make_policy(name, capacity, **{**LIBCACHESIM_PARAMS.get(name, {}), **params})
    counts = replay(policy, keys, sizes, count_bytes=count_bytes, times=times)
    if name == "lirs":  # exactness holds while this libCacheSim undefined case did not arise
        assert policy.self_evicting_hits == 0
    return counts


def assert_same_misses(name, trace, capacity, count_bytes):
    keys, sizes, path = trace
    # a policy that reads the clock hears the file's timestamps, as libcachesim's does
    times = read_oracle_general(path)["time"].astype(np.int64) if policy_class(name).timed else None
    counts = ours(name, keys, sizes, capacity, count_bytes, times=times)
    theirs = libcachesim_misses(path, len(keys), LIBCACHESIM[name], capacity, count_bytes)
    unit = "bytes" if count_bytes else "objects"
    assert counts.misses == theirs, f"{name} at {capacity} {unit}: {counts.misses} misses, libcachesim {theirs}"


# -- golden miss counts -----------------------------------------------------------------
#
# Misses on golden_trace() (tests/policies/tracedata.py: 10,000 requests, Zipf(1) over 1000
# ids of which 915 are requested, 769,898 bytes, sizes 16 B to 4 KiB), at two capacities
# counting objects and two counting bytes.  Produced on 2026-12-01 with libcachesim 0.3.5:
# ``libcachesim_misses`` (process_trace on the trace written as oracleGeneral, objects via
# ignore_obj_size) for every policy, and ``libcachesim_run(..., admissioner=...)`` with LRU
# for the admission filters; our replay gave the same numbers at every point.  The
# capacities are ones where LIRS has no self-evicting hit (see policies/lirs.py) and
# W-TinyLFU's counting Bloom filter has fewer than 2**22 counters, so all are exact.
# Where libcachesim has no seeded counterpart (RANDOM, probabilistic admission: its
# generator is its own; TinyLFU admission with its defaults) the numbers are ours,
# with the seed shown, and guard against a drift of ours only.
GOLDEN_CAPACITIES = [(200, False), (500, False), (150_000, True), (280_000, True)]
GOLDEN = {
    "lru": (3072, 1574, 3409, 2321),
    "fifo": (3610, 1866, 3881, 2729),
    "clock": (2990, 1544, 3311, 2276),
    "sieve": (2700, 1465, 2825, 2001),
    "lfu": (2713, 1465, 2833, 1996),
    "slru": (2659, 1525, 3039, 2123),
    "twoq": (2799, 1675, 3093, 2278),
    "arc": (2749, 1520, 3031, 2107),
    "lirs": (2703, 1504, 3822, 1908),
    "s3fifo": (2666, 1521, 2883, 2052),
    "belady": (1741, 1021, 1984, 1352),
    "wtinylfu": (2617, 1499, 3829, 1908),
    "lfuda": (2688, 1551, 2925, 2155),
    "gdsf": (2762, 1513, 1893, 1388),
    "random": (3530, 1843, 3852, 2681),  # ours, seed 0
    "lruk": (2713, 1465, 2854, 1996),
    "mq": (2533, 1467, 2789, 1993),
    "clock2qplus": (2737, 1546, 3018, 2097),
}
# LRU behind each admission filter: (filter, its parameters, libcachesim's admissioner (built
# when called) or None where the numbers are ours, misses per capacity or None where the
# filter needs sizes).
BLOOM_LIKE = {"min_frequency": 2, "expected_items": 50_000, "sample_size": 10**9, "false_positive_rate": 0.001}
GOLDEN_ADMISSION = {
    "size-512": ("size", {"threshold": 512}, lambda: lcs.SizeAdmissioner(512), (None, None, 5181, 5181)),
    "size-2048": ("size", {"threshold": 2048}, lambda: lcs.SizeAdmissioner(2048), (None, None, 3871, 3651)),
    "tinylfu-seen-before": ("tinylfu", BLOOM_LIKE, lambda: lcs.BloomFilterAdmissioner(), (3029, 1872, 3349, 2397)),
    "tinylfu": ("tinylfu", {}, None, (2919, 1825, 3349, 2397)),
    "probabilistic": ("probabilistic", {"probability": 0.5, "seed": 0}, None, (3020, 1765, 3403, 2383)),
    "bloomfilter": ("bloomfilter", {}, lambda: lcs.BloomFilterAdmissioner(), (3029, 1872, 3349, 2397)),
}
GOLDEN_POINTS = [(name, i) for name in GOLDEN for i in range(len(GOLDEN_CAPACITIES))]
GOLDEN_ADMISSION_POINTS = [
    (name, i) for name, (*_, misses) in GOLDEN_ADMISSION.items() for i in range(len(GOLDEN_CAPACITIES)) if misses[i]
]


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    keys, sizes = golden_trace()
    return (
        keys,
        sizes,
        write_oracle_general(tmp_path_factory.mktemp("golden") / "golden.oracleGeneral.bin", keys, sizes),
    )


def test_the_golden_trace_is_the_one_the_counts_were_taken_on(golden):
    keys, sizes, _ = golden
    _, first = np.unique(keys, return_index=True)
    assert (len(keys), len(first), int(sizes[first].sum())) == (10_000, 915, 769_898)


@pytest.mark.parametrize("name,point", GOLDEN_POINTS)
def test_our_misses_equal_the_golden_counts(golden, name, point):
    keys, sizes, _ = golden
    capacity, count_bytes = GOLDEN_CAPACITIES[point]
    assert ours(name, keys, sizes, capacity, count_bytes).misses == GOLDEN[name][point]


@pytest.mark.parametrize("name,point", GOLDEN_ADMISSION_POINTS)
def test_our_misses_behind_admission_filters_equal_the_golden_counts(golden, name, point):
    keys, sizes, _ = golden
    capacity, count_bytes = GOLDEN_CAPACITIES[point]
    admission, params, _, misses = GOLDEN_ADMISSION[name]
    cache = make_policy("lru", capacity, admission=admission, admission_params=params)
    assert replay(cache, keys, sizes, count_bytes=count_bytes).misses == misses[point]


@live
@pytest.mark.parametrize("name,point", [(name, i) for name, i in GOLDEN_POINTS if name != "random"])
def test_libcachesim_misses_equal_the_golden_counts(golden, name, point):
    keys, _, path = golden
    capacity, count_bytes = GOLDEN_CAPACITIES[point]
    assert libcachesim_misses(path, len(keys), LIBCACHESIM[name], capacity, count_bytes) == GOLDEN[name][point]


@live
@pytest.mark.parametrize("name,point", [(n, i) for n, i in GOLDEN_ADMISSION_POINTS if GOLDEN_ADMISSION[n][2]])
def test_libcachesim_admissioners_equal_the_golden_counts(golden, name, point):
    keys, _, path = golden
    capacity, count_bytes = GOLDEN_CAPACITIES[point]
    *_, admissioner, misses = GOLDEN_ADMISSION[name]
    miss_ratio, _ = libcachesim_run(path, "LRU", capacity, count_bytes, admissioner=admissioner())
    assert round(miss_ratio * len(keys)) == misses[point]


# -- live parity on larger traces -------------------------------------------------------


@live
@pytest.mark.parametrize(
    "name,trace,capacity,count_bytes",
    [
        (name, trace, c, b)
        for name in EXACT
        for trace, caps in ZIPF_CAPACITIES.items()
        for c, b in caps
        # libcachesim's LFUDA walks its priorities one integer at a time, and here they grow
        # so large that it takes minutes (ours agrees, it is just slow to check).
        if (name, trace, c) != ("lfuda", "zipf-0.9", 198_050)
    ],
)
def test_zipf_misses_equal_libcachesim(zipf_traces, name, trace, capacity, count_bytes):
    assert_same_misses(name, zipf_traces[trace], capacity, count_bytes)


@live
@pytest.mark.parametrize(
    "name,trace,capacity,count_bytes",
    [
        (name, trace, c, b)
        for name in EXACT
        for trace in BLOCK_TRACES
        for c, b in BLOCK_CAPACITIES[trace]
        # libcachesim's W-TinyLFU allocates 14.4 counters per byte of capacity (8 GB at 500 MB).
        if not (name == "wtinylfu" and c > 10_000_000)
    ],
)
def test_block_io_misses_equal_libcachesim(block_io_traces, name, trace, capacity, count_bytes):
    assert_same_misses(name, block_io_traces[trace], capacity, count_bytes)


def test_the_capacities_span_small_and_large_caches(zipf_traces):
    # The parity cases are not trivial: about half the requests miss at the small
    # capacities, a fifth to a third at the large ones (the cold misses are a tenth).
    keys, sizes, _ = zipf_traces["zipf-0.9"]
    assert len(np.unique(keys)) / len(keys) < 0.1
    for small, large, count_bytes in ((200, 1000, False), (198_050, 2_970_753, True)):
        assert ours("lru", keys, sizes, small, count_bytes).miss_ratio > 0.45
        assert ours("lru", keys, sizes, large, count_bytes).miss_ratio < 0.32


def mean_miss_ratio_of_random(keys, sizes, path, capacity, count_bytes, runs=8, our_runs=None):
    # libcachesim's runs differ from process to process: each side is a mean over several runs.
    our_runs = runs if our_runs is None else our_runs
    our_ratio = np.mean(
        [ours("random", keys, sizes, capacity, count_bytes, seed=seed).miss_ratio for seed in range(our_runs)]
    )
    # libcachesim's Random draws from a generator shared by all its caches: each run differs.
    their_ratio = np.mean([libcachesim_run(path, "Random", capacity, count_bytes)[0] for _ in range(runs)])
    return our_ratio, their_ratio


@live
@pytest.mark.parametrize("capacity,count_bytes", [(200, False), (1000, False), (2_970_753, True)])
def test_random_is_within_one_percent_on_zipf(zipf_traces, capacity, count_bytes):
    # libcachesim's Random does not pick its victim uniformly among the cached objects (it draws a
    # bucket of its hash table and takes the bucket's first object, so an object behind another in
    # its chain is never the victim), and on this trace it misses a little more: 40 runs a
    # side put its mean 0.0024 above ours at 200 objects and 0.0031 at 1000, with run-to-run
    # standard deviations of 0.0022 (ours) and 0.0037 (its).  So the bound is that offset plus four
    # standard errors of the difference of the means (32 runs of ours, 8 of its: 0.0014), rounded
    # up to 0.01; a half-percent bound failed one CI run in about twenty.
    ours_ratio, theirs_ratio = mean_miss_ratio_of_random(
        *zipf_traces["zipf-0.9"], capacity, count_bytes, runs=8, our_runs=32
    )
    assert abs(ours_ratio - theirs_ratio) <= 0.01, (ours_ratio, theirs_ratio)


# 10% of the objects, 2.5% of the bytes; block-io's runs see about as many requests as cloudphysics' 2.
RANDOM_ON_BLOCK_IO = {
    "block-io": [(1500, False, 6), (16_000_000, True, 6)],
    "cloudphysics": [(5000, False, 2), (50_000_000, True, 2)],
}


@live
@pytest.mark.parametrize(
    "trace,capacity,count_bytes,runs", [(trace, *case) for trace in BLOCK_TRACES for case in RANDOM_ON_BLOCK_IO[trace]]
)
def test_random_is_within_half_a_percent_on_block_io(block_io_traces, trace, capacity, count_bytes, runs):
    ours_ratio, theirs_ratio = mean_miss_ratio_of_random(*block_io_traces[trace], capacity, count_bytes, runs=runs)
    assert abs(ours_ratio - theirs_ratio) <= 0.005, (ours_ratio, theirs_ratio)


@live
def test_lirs_differs_slightly_where_libcachesim_reads_freed_memory(tmp_path):
    # A small HIR share in bytes: hits on Q-only objects sometimes push themselves out
    # of Q, where libCacheSim's result depends on its allocator.  The difference stays tiny.
    keys, sizes = zipf_trace(30000, 3000, 0.9, seed=1)
    path = write_oracle_general(tmp_path / "t.bin", keys, sizes)
    policy = make_policy("lirs", 20_000_000)
    counts = replay(policy, keys, sizes, count_bytes=True)
    theirs = libcachesim_misses(path, len(keys), "LIRS", 20_000_000, True)
    assert policy.self_evicting_hits > 0
    assert abs(counts.misses - theirs) / len(keys) < 0.005


@live
def test_size_admission_equals_libcachesims(zipf_traces):
    keys, sizes, path = zipf_traces["zipf-1.1"]
    counts = replay(
        make_policy("lru", 3_432_068, admission="size", admission_params={"threshold": 8192}),
        keys,
        sizes,
        count_bytes=True,
    )
    miss_ratio, _ = libcachesim_run(path, "LRU", 3_432_068, True, admissioner=lcs.SizeAdmissioner(8192))
    assert counts.misses == round(miss_ratio * len(keys))
    plain = replay(make_policy("lru", 3_432_068), keys, sizes, count_bytes=True)
    assert counts.misses != plain.misses  # the filter did something


@live
def test_tinylfu_doorkeeper_admits_like_libcachesims_bloom_filter(zipf_traces):
    # min_frequency=2 is "seen before"; with a large sample and few false positives it is
    # libCacheSim's bloomfilter admissioner (an exact set of the keys seen).
    keys, sizes, path = zipf_traces["zipf-0.9"]
    params = {"min_frequency": 2, "expected_items": 50_000, "sample_size": 10**9, "false_positive_rate": 0.001}
    counts = replay(make_policy("lru", 400, admission="tinylfu", admission_params=params), keys)
    miss_ratio, _ = libcachesim_run(path, "LRU", 400, False, admissioner=lcs.BloomFilterAdmissioner())
    assert abs(counts.miss_ratio - miss_ratio) <= 0.005
    plain = replay(make_policy("lru", 400), keys)
    assert counts.misses != plain.misses


@live
def test_probabilistic_admission_is_within_half_a_percent(zipf_traces):
    keys, sizes, path = zipf_traces["zipf-0.9"]
    ours_ratio = np.mean(
        [
            replay(
                make_policy("lru", 400, admission="probabilistic", admission_params={"probability": 0.5, "seed": seed}),
                keys,
            ).miss_ratio
            for seed in range(4)
        ]
    )
    theirs_ratio = np.mean(
        [libcachesim_run(path, "LRU", 400, False, admissioner=lcs.ProbAdmissioner(0.5))[0] for _ in range(4)]
    )
    assert abs(ours_ratio - theirs_ratio) <= 0.005, (ours_ratio, theirs_ratio)


# -- randomised policies of issue 22: the mean miss ratio over five seeds, within 0.005 ------------------
#
# Their draws come from each policy's own seeded generator; libcachesim's from one process-wide generator,
# so each of its runs differs.  Five seeds of ours against five runs of libcachesim, on the parity traces
# here (Python reference), and on traces of a million requests in the long campaign (KVSIM_LONG_TESTS=1:
# compiled kernels, which equal the reference request for request, tests/policies/test_compiled.py).
RANDOMISED = {"lruprob": "LRUProb", "flashprob": "FlashProb", "hyperbolic": "Hyperbolic", "lecar": "LeCaR"}
RANDOMISED_PARAMS = {"lruprob": [{}, {"prob": 0.2}]}
SEEDS = 5
# On the short traces FlashProb's coin moves a run's miss ratio by 0.0036 (one standard deviation, 20,000
# requests, 200 objects): the means of 5 runs would differ by more than 0.005 one time in 30, so there
# it takes 20 runs (the five seeds hold on a million requests).
SHORT_TRACE_RUNS = {"flashprob": 20}
long_run = pytest.mark.skipif(
    not os.environ.get("KVSIM_LONG_TESTS"), reason="a long parity campaign: set KVSIM_LONG_TESTS=1 to run it"
)


def mean_miss_ratios(name, trace, capacity, count_bytes, params, fast=False, runs=SEEDS):
    """(our mean miss ratio over `runs` seeds, libcachesim's mean over `runs` runs)."""
    keys, sizes, path = trace
    build = make_fast_policy if fast else make_policy
    ours_ratio = np.mean(
        [
            replay(build(name, capacity, seed=seed, **params), keys, sizes, count_bytes=count_bytes).miss_ratio
            for seed in range(runs)
        ]
    )
    theirs = [libcachesim_run(path, RANDOMISED[name], capacity, count_bytes, **params)[0] for _ in range(runs)]
    return ours_ratio, np.mean(theirs)


def assert_randomised_parity(name, trace, capacity, count_bytes, fast=False, runs=SEEDS):
    for params in RANDOMISED_PARAMS.get(name, [{}]):
        ours_ratio, theirs_ratio = mean_miss_ratios(name, trace, capacity, count_bytes, params, fast, runs)
        assert abs(ours_ratio - theirs_ratio) <= 0.005, (name, params, capacity, ours_ratio, theirs_ratio)


# The tiny cache: 5 objects; FlashProb's 20, the least at which libcachesim's does not abort (a RAM share of 0).
ZIPF_RANDOMISED_POINTS = [
    (name, 20 if (name, capacity) == ("flashprob", 5) else capacity, count_bytes)
    for name in RANDOMISED
    for capacity, count_bytes in [(5, False), (200, False), (1000, False), (2_970_753, True)]
]


@live
@pytest.mark.parametrize("name,capacity,count_bytes", ZIPF_RANDOMISED_POINTS)
def test_randomised_policies_are_within_half_a_percent_on_zipf(zipf_traces, name, capacity, count_bytes):
    assert_randomised_parity(
        name, zipf_traces["zipf-0.9"], capacity, count_bytes, runs=SHORT_TRACE_RUNS.get(name, SEEDS)
    )


@live
@pytest.mark.parametrize("name", list(RANDOMISED))
@pytest.mark.parametrize("trace,capacity,count_bytes", [("block-io", 1500, False), ("block-io", 16_000_000, True)])
def test_randomised_policies_are_within_half_a_percent_on_block_io(block_io_traces, name, trace, capacity, count_bytes):
    assert_randomised_parity(
        name, block_io_traces[trace], capacity, count_bytes, runs=SHORT_TRACE_RUNS.get(name, SEEDS)
    )


@pytest.fixture(scope="module")
def million_request_traces(tmp_path_factory):
    """A Zipf(0.9) trace over 100,000 objects and a generated block-I/O trace, a million requests each."""
    directory = tmp_path_factory.mktemp("million")
    generated = {
        "zipf-1m": zipf_trace(1_000_000, 100_000, 0.9, seed=11, size_sigma=1.0),
        "block-io-1m": tuple(block_io_trace(n_requests=1_000_000, hot_objects=100_000, seed=3)[:2]),
    }
    return {
        name: (keys, sizes, write_oracle_general(directory / f"{name}.oracleGeneral.bin", keys, sizes))
        for name, (keys, sizes) in generated.items()
    }


# Capacities: 0.1% and 5% of the objects, 1% of the bytes (Zipf: 100,000 objects, 1.3 GB; block-io-1m:
# about 550,000 objects).
MILLION_CAPACITIES = [(100, False), (5000, False), (13_000_000, True)]


@live
@long_run
@pytest.mark.parametrize("name", list(RANDOMISED))
@pytest.mark.parametrize("trace", ["zipf-1m", "block-io-1m"])
@pytest.mark.parametrize("capacity,count_bytes", MILLION_CAPACITIES)
def test_randomised_policies_are_within_half_a_percent_on_a_million_requests(
    million_request_traces, name, trace, capacity, count_bytes
):
    assert_randomised_parity(name, million_request_traces[trace], capacity, count_bytes, fast=True)


# -- 3L-Cache (learned, issue 22): libcachesim's ThreeLCache, its generator and heap reproduced -------------
#
# Before its first training (65,536 samples) 3L-Cache is LRU: the short traces are exact.  After it, the
# misses are exact too where LightGBM is the build libcachesim 0.3.5 bundles (4.7.0: the same trees from the
# same rows); with another LightGBM, within 0.01 of the miss ratio (the bound for learned policies).
def assert_threelcache_parity(trace, capacity, count_bytes, objective="byte-miss-ratio"):
    lightgbm = pytest.importorskip("lightgbm")
    keys, sizes, path = trace
    # the engine's policy: the kernel (its equality with the Python reference is test_compiled's), or the reference
    ours = replay(make_fast_policy("threelcache", capacity, objective=objective), keys, sizes, count_bytes=count_bytes)
    theirs_ratio = libcachesim_run(path, "ThreeLCache", capacity, count_bytes, objective=objective)[0]
    if lightgbm.__version__ == "4.7.0":
        assert ours.misses == round(theirs_ratio * len(keys)), (capacity, ours.miss_ratio, theirs_ratio)
    assert abs(ours.miss_ratio - theirs_ratio) <= 0.01, (capacity, ours.miss_ratio, theirs_ratio)


@live
@pytest.mark.parametrize("trace", list(ZIPF))
@pytest.mark.parametrize("point", [0, 1, 2, 3, 4])
def test_threelcache_before_training_is_exact_on_zipf(zipf_traces, trace, point):
    capacity, count_bytes = ([(5, False)] + ZIPF_CAPACITIES[trace])[point]
    assert_threelcache_parity(zipf_traces[trace], capacity, count_bytes)


@live
@pytest.mark.parametrize("capacity,count_bytes", BLOCK_CAPACITIES["block-io"])
def test_threelcache_before_training_is_exact_on_block_io(block_io_traces, capacity, count_bytes):
    assert_threelcache_parity(block_io_traces["block-io"], capacity, count_bytes)


@pytest.fixture(scope="module")
def trained_trace(tmp_path_factory):
    """Zipf(0.9), 200,000 requests over 20,000 objects: 3L-Cache trains once, about 60,000 requests before the end."""
    keys, sizes = zipf_trace(200_000, 20_000, 0.9, seed=11, size_sigma=1.0)
    return keys, sizes, write_oracle_general(tmp_path_factory.mktemp("trained") / "t.oracleGeneral.bin", keys, sizes)


@live
def test_threelcache_after_its_first_training(trained_trace):
    assert_threelcache_parity(trained_trace, 500, False)


@live
@long_run
@pytest.mark.parametrize("trace", ["zipf-1m", "block-io-1m"])
@pytest.mark.parametrize("capacity,count_bytes", MILLION_CAPACITIES)
@pytest.mark.parametrize("objective", ["byte-miss-ratio", "object-miss-ratio"])
def test_threelcache_on_a_million_requests(million_request_traces, trace, capacity, count_bytes, objective):
    assert_threelcache_parity(million_request_traces[trace], capacity, count_bytes, objective)
