"""GL-Cache (policies/glcache.py): merges traced by hand, libcachesim's misses, learning, and XGBoost's absence.

* Before its first model GL-Cache is deterministic: the FIFO merges are
  traced by hand here, and equal libcachesim 0.3.5's misses exactly on the
  golden and generated traces, counting objects and bytes, tiny caches
  included (where a whole segment goes at once).
* With a model (traces whose timestamps pass ``retrain_intvl``), the miss
  ratio is within 0.01 of libcachesim's (equal to the miss where measured:
  the model is XGBoost on both sides), in both merge orders.
* The compiled kernel (the engine of `kvsim replay`) misses as the Python
  reference does in each of these parity runs.
* Without XGBoost the policy says what to install, and the CLI exits 2.

The long campaign (a million requests, more sizes) runs with KVSIM_LONG_TESTS=1.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.analysis import replay
from policies import PolicyError, make_fast_policy, make_policy
from policies.compiled import engine_of
from tests.policies.tracedata import REPO, golden_trace, libcachesim_run, write_oracle_general, zipf_trace
from workloads.ids import DenseIds

pytest.importorskip("xgboost", reason="GL-Cache needs XGBoost (pip install 'kvsim[learned]')")
try:
    import libcachesim as lcs
except ImportError:
    lcs = None
live = pytest.mark.skipif(
    lcs is None or lcs.__version__ != "0.3.5", reason="libcachesim 0.3.5 (pip install 'kvsim[test]') is not importable"
)
long = pytest.mark.skipif(not os.environ.get("KVSIM_LONG_TESTS"), reason="long campaign: set KVSIM_LONG_TESTS=1")


def requests_at(trace_times):
    """The times libcachesim reads from write_oracle_general: ten requests a second, from 1."""
    return np.arange(trace_times) // 10 + 1


def access_all(cache, keys, start=0):
    """(hits, evicted keys per request) of `keys` served one by one, each at its own second from `start`."""
    hits, evictions = [], []
    for i, key in enumerate(keys):
        cache.advance(start + i)
        hit = cache.lookup(key)
        hits.append(hit)
        evictions.append([] if hit else cache.insert(key, 1))
    return hits, evictions


# -- by hand -----------------------------------------------------------------------------------------


def test_a_merge_keeps_the_objects_accessed_last_and_evicts_the_rest():
    # Segments of 4 (merge 2, keep 4): 1-4 fill segment A, 5-8 segment B; 1 and 2 are hit; 9 opens C.
    cache = make_policy("glcache", 9, segment_size=4)
    hits, evictions = access_all(cache, [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 9])
    assert hits == [False] * 8 + [True, True, False] and not any(evictions)
    # 10 (the 12th request: 11 served before it) needs room: A and B merge.  Requests since the last
    # access: 1 -> 3, 2 -> 2, 3 -> 9, 4 -> 8, 5 -> 7, 6 -> 6, 7 -> 5, 8 -> 4; the four most recent stay.
    assert access_all(cache, [10], start=11) == ([False], [[3, 4, 5, 6]])
    assert cache.keys() == [1, 2, 7, 8, 9, 10]  # the merged segment takes A's place, before C
    # 7 is hit (request 13); 11 and 12 fill C; 13 opens D; 14 (request 17) merges the merged segment and C:
    # 1 -> 8, 2 -> 7, 7 -> 4, 8 -> 9, 9 -> 6, 10 -> 5, 11 -> 3, 12 -> 2.
    hits, evictions = access_all(cache, [7, 11, 12, 13, 14], start=12)
    assert hits == [True, False, False, False, False]
    assert evictions == [[], [], [], [], [1, 2, 8, 9]]
    assert cache.keys() == [7, 10, 11, 12, 13, 14]


def test_too_few_segments_to_merge_evict_the_first_whole():
    # Capacity 5, segments of 4: A = 1-4, B = 5; A and B cannot merge (B is still being written).
    cache = make_policy("glcache", 5, segment_size=4)
    _, evictions = access_all(cache, [1, 2, 3, 4, 5, 6])
    assert evictions[-1] == [1, 2, 3, 4] and cache.keys() == [5, 6]


def test_the_defaults_and_their_bounds():
    cache = make_policy("glcache", 1000)
    assert cache.params() == {
        "segment_size": 100, "n_merge": 2, "type": "learned", "rank_intvl": 0.02,
        "merge_consecutive_segs": False, "train_source_y": "online", "retrain_intvl": 86400,
    }  # fmt: skip
    bad = [
        ({"segment_size": 3}, "segment_size must be an integer in \\[4, 100000000\\]"),
        ({"segment_size": 10**8 + 1}, "segment_size"),
        ({"n_merge": 101}, "n_merge must be an integer in \\[2, 100\\]"),
        ({"segment_size": 5, "n_merge": 3}, "segment_size // n_merge must be at least 2"),
        ({"rank_intvl": 1.0}, "rank_intvl must be in \\(0, 1\\)"),
        ({"retrain_intvl": 2**31}, "retrain_intvl must be an integer in \\[1, 2147483646\\]"),
        ({"type": "twoOracle"}, "type must be 'learned'"),
        ({"train_source_y": "oracle"}, "train_source_y must be 'online'"),
        ({"merge_consecutive_segs": 1}, "merge_consecutive_segs must be true or false"),
    ]
    for params, message in bad:
        with pytest.raises(ValueError, match=message):
            make_policy("glcache", 1000, **params)


# -- libcachesim: before the first model, to the miss --------------------------------------------------

FIFO_POINTS = [(150, False), (200, False), (500, False), (1000, True), (150_000, True), (280_000, True)]


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    keys, sizes = golden_trace()
    return keys, sizes, write_oracle_general(tmp_path_factory.mktemp("glcache") / "golden.bin", keys, sizes)


@live
@pytest.mark.parametrize(("capacity", "count_bytes"), FIFO_POINTS)
def test_fifo_merging_equals_libcachesim_to_the_miss(golden, capacity, count_bytes):
    keys, sizes, path = golden
    miss_ratio, _ = libcachesim_run(path, "GLCache", capacity, count_bytes)
    cache = make_policy("glcache", capacity)
    ours = replay(cache, keys, sizes, count_bytes=count_bytes, times=requests_at(len(keys)))
    assert cache.n_train == 0  # a day of trace time never passed: no model
    assert ours.misses == round(miss_ratio * len(keys))
    assert_same_misses_compiled(ours, keys, sizes, count_bytes, capacity)


# -- libcachesim: with a model -------------------------------------------------------------------------


def learned_trace(directory, n_requests):
    keys, sizes = zipf_trace(n_requests=n_requests, n_objects=n_requests // 5, alpha=0.9, seed=4, size_sigma=0.7)
    return keys, sizes, write_oracle_general(directory / f"zipf-{n_requests}.bin", keys, sizes)


def assert_learned_parity(trace, capacity, count_bytes, retrain_intvl, consecutive):
    keys, sizes, path = trace
    # The Python package passes the flag through str(): True reads as 0 in C, so 1 asks for consecutive merges.
    theirs, _ = libcachesim_run(
        path, "GLCache", capacity, count_bytes, retrain_intvl=retrain_intvl, merge_consecutive_segs=int(consecutive)
    )
    cache = make_policy("glcache", capacity, retrain_intvl=retrain_intvl, merge_consecutive_segs=consecutive)
    ours = replay(cache, keys, sizes, count_bytes=count_bytes, times=requests_at(len(keys)))
    assert cache.n_train >= 3  # the model was trained (and retrained) and ranked the evictions
    assert abs(ours.miss_ratio - theirs) <= 0.01, (ours.miss_ratio, theirs)
    assert_same_misses_compiled(
        ours, keys, sizes, count_bytes, capacity, retrain_intvl=retrain_intvl, merge_consecutive_segs=consecutive
    )
    return ours.miss_ratio, theirs


def assert_same_misses_compiled(ours, keys, sizes, count_bytes, capacity, **params):
    """The compiled kernel, as `kvsim replay` runs it, misses as the Python reference did (`ours`)."""
    fast = make_fast_policy("glcache", capacity, **params)
    if engine_of(fast) == "compiled":
        ids = DenseIds()(keys)
        assert replay(fast, keys, sizes, count_bytes=count_bytes, times=requests_at(len(keys)), ids=ids) == ours


@pytest.fixture(scope="module")
def short_learned(tmp_path_factory):
    return learned_trace(tmp_path_factory.mktemp("glcache-learned"), 30_000)


@live
@pytest.mark.parametrize(("capacity", "count_bytes", "consecutive"), [(600, False, False), (1_500_000, True, True)])
def test_learned_ranking_is_within_a_percent_of_libcachesim(short_learned, capacity, count_bytes, consecutive):
    assert_learned_parity(short_learned, capacity, count_bytes, retrain_intvl=400, consecutive=consecutive)


@live
@long
@pytest.mark.parametrize("consecutive", [False, True])
@pytest.mark.parametrize(("capacity", "count_bytes"), [(500, False), (5000, False), (20_000, False), (5 * 10**7, True)])
def test_learned_ranking_on_a_million_requests(tmp_path_factory, capacity, count_bytes, consecutive):
    trace = learned_trace(tmp_path_factory.mktemp("glcache-long"), 1_000_000)
    ours, theirs = assert_learned_parity(trace, capacity, count_bytes, retrain_intvl=5000, consecutive=consecutive)
    print(f"glcache {capacity} bytes={count_bytes} consecutive={consecutive}: {ours:.4f} vs {theirs:.4f}")


# -- determinism and the contract while learning ---------------------------------------------------------


def test_the_same_trace_gives_the_same_hits_twice():
    keys, sizes = zipf_trace(n_requests=8000, n_objects=2000, alpha=0.9, seed=7, size_sigma=0.7)
    times = np.arange(len(keys)) // 10 + 1
    runs = []
    for _ in range(2):
        cache = make_policy("glcache", 300, segment_size=20, retrain_intvl=50)
        runs.append([cache.access(int(k), 1) if not cache.advance(t) else None for k, t in zip(keys, times)])
        assert cache.n_train > 3
    assert runs[0] == runs[1]


@settings(max_examples=10, deadline=None)
@given(
    stream=st.lists(st.tuples(st.integers(0, 60), st.integers(1, 5)), min_size=100, max_size=300),
    capacity=st.integers(8, 60),
)
def test_learning_never_overfills_and_reports_every_eviction(stream, capacity):
    cache = make_policy("glcache", capacity, segment_size=4, retrain_intvl=10)
    sizes = {}
    for second, (key, size) in enumerate(stream, start=1):
        cache.advance(second // 2)  # the first model after about 20 requests past the first eviction
        if cache.lookup(key):
            continue
        before = set(cache.keys())
        evicted = cache.insert(key, size)
        assert set(evicted) <= before and not any(victim in cache for victim in evicted)
        sizes[key] = size
        assert cache.used == sum(sizes[k] for k in cache.keys()) <= capacity
        assert len(cache.keys()) == len(cache)


# -- in the timed model -------------------------------------------------------------------------------


@pytest.mark.parametrize("consecutive", [False, True])
def test_the_timed_model_runs_it_in_the_compiled_loop_with_the_python_loops_results(consecutive):
    from policies import engine
    from sim import ClusterSpec, run
    from sim.compiled_model import CompiledModel
    from sim.model import Model
    from tests.sim.test_model_vs_naive import scenario

    # simulated seconds: a model after a second or two, retrained every one or two
    params = (("segment_size", 10), ("retrain_intvl", 1 + consecutive), ("merge_consecutive_segs", consecutive))
    cluster = ClusterSpec(nodes=2, capacity=300, policy="glcache", policy_params=params)
    sc = scenario(cluster=cluster, requests=20_000, warmup=1000)
    result = run(sc, seed=3)
    assert 0 < result.hits < 19_000
    if engine() == "compiled":  # the C loop, its kernel told the simulated time, decides as the Python loop
        assert (result.engine, result.engine_note) == ("compiled", "")
        assert result == CompiledModel(sc, 3).run() == Model(sc, 3).run()


CONFIG = """
name = "glcache"
[run]
requests = 3000
warmup = 500
seeds = [1]
[workload]
keys = 2000
alpha = 0.9
rate = 5000
[cluster]
nodes = 2
capacity = 100
policy = "glcache"
policy_params = {segment_size = 10}
"""


def test_a_config_runs_it(tmp_path):
    from tests.experiments.conftest import kvsim, write_config

    done = kvsim("run", write_config(tmp_path, CONFIG), "--out", tmp_path / "out", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "reads the clock" not in done.stdout  # (the compiled loop runs it, or KVSIM_ENGINE=python is why)
    assert '"glcache"' in (tmp_path / "out" / "manifest.json").read_text()
    header, row = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert int(dict(zip(header.split(","), row.split(",")))["hits"]) > 0


# -- without XGBoost ------------------------------------------------------------------------------------


def test_without_xgboost_the_policy_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)  # find_spec answers None: as if not installed
    with pytest.raises(PolicyError, match=r"^policy 'glcache' needs XGBoost: pip install 'kvsim\[learned\]'"):
        make_policy("glcache", 100)


def test_without_xgboost_the_cli_exits_2_in_one_line(tmp_path):
    trace = write_oracle_general(tmp_path / "t.bin", [1, 2, 3], [10, 10, 10])
    hide = "import sys; sys.modules['xgboost'] = None; from experiments.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = ["replay", str(trace), *"--policy glcache --capacity 100 --workers 1 --out".split(), str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, "-c", hide, *argv], capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(REPO)}
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "pip install 'kvsim[learned]'" in done.stderr
    assert not (tmp_path / "out").exists()
