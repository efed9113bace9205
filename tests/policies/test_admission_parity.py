"""The admission filters of issue 22 against libcachesim 0.3.5's admissioners.

The harness is test_libcachesim_parity.py's (tracedata: the generated Zipf and
block-I/O traces, libcachesim's ``process_trace`` on them); the filters sit
in front of LRU, as there.

* ``bloomfilter`` is deterministic: the same miss count, on every parity
  trace and capacity, tiny ones included.
"""

import pytest

from experiments.analysis import replay
from policies import make_fast_policy, make_policy
from tests.policies.test_libcachesim_parity import BLOCK_CAPACITIES, BLOCK_TRACES, ZIPF, ZIPF_CAPACITIES, lcs, live
from tests.policies.tracedata import CLOUDPHYSICS, libcachesim_run, write_oracle_general, zipf_trace


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """Every parity trace by name: (keys, sizes, oracleGeneral file)."""
    directory = tmp_path_factory.mktemp("admission")
    traces = {}
    for name, spec in ZIPF.items():
        keys, sizes = zipf_trace(**spec)
        traces[name] = (keys, sizes, write_oracle_general(directory / f"{name}.bin", keys, sizes))
    for name, (keys, sizes) in BLOCK_TRACES.items():
        path = CLOUDPHYSICS if name == "cloudphysics" else write_oracle_general(directory / f"{name}.bin", keys, sizes)
        traces[name] = (keys, sizes, path)
    return traces


#: every parity trace at its parity capacities, and a tiny cache of 5 objects
POINTS = [
    (trace, capacity, count_bytes)
    for trace, capacities in {**ZIPF_CAPACITIES, **BLOCK_CAPACITIES}.items()
    if trace in ZIPF or trace in BLOCK_TRACES
    for capacity, count_bytes in [(5, False), *capacities]
]


def their_misses(path, n_requests, cache_class, capacity, count_bytes, admissioner):
    miss_ratio, _ = libcachesim_run(path, cache_class, capacity, count_bytes, admissioner=admissioner)
    return round(miss_ratio * n_requests)


@live
@pytest.mark.parametrize("trace,capacity,count_bytes", POINTS)
@pytest.mark.parametrize("cache_class,name", [("LRU", "lru"), ("FIFO", "fifo")])
def test_bloomfilter_misses_equal_libcachesims(traces, trace, capacity, count_bytes, cache_class, name):
    keys, sizes, path = traces[trace]
    build = make_fast_policy if len(keys) > 50_000 else make_policy  # the kernel equals the reference (test_compiled)
    counts = replay(build(name, capacity, admission="bloomfilter"), keys, sizes, count_bytes=count_bytes)
    theirs = their_misses(path, len(keys), cache_class, capacity, count_bytes, lcs.BloomFilterAdmissioner())
    assert counts.misses == theirs


@live
def test_bloomfilter_agrees_on_ids_past_32_bits(tmp_path):
    # libCacheSim keys its set by the id as a pointer-sized integer: whole 64-bit ids, as ours.
    keys, sizes = zipf_trace(20_000, 2000, 0.9, seed=4, size_sigma=0.7)
    keys = keys + (1 << 40) + (keys % 3 << 33)  # ids past 2**40, some sharing their low 32 bits
    path = write_oracle_general(tmp_path / "wide.bin", keys, sizes)
    for capacity, count_bytes in [(200, False), (198_050, True)]:
        counts = replay(
            make_fast_policy("lru", capacity, admission="bloomfilter"), keys, sizes, count_bytes=count_bytes
        )
        theirs = their_misses(path, len(keys), "LRU", capacity, count_bytes, lcs.BloomFilterAdmissioner())
        assert counts.misses == theirs
