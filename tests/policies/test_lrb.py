"""LRB (policies/lrb.py): its fallback traced by hand, its features, determinism, its kernel, parity with libcachesim.

libcachesim 0.3.5's LRB trains its first model after 131,072 labelled
samples: on the parity traces of ~20,000 requests it never trains, evicts
LRU's victims, and ours must equal it (and LRU) to the miss.  Past that, the
two learn from different random samples with LightGBM, so the miss ratios
are held within 0.01, on a million requests, in the long campaign
(KVSIM_LONG_TESTS=1; its figures are in policies/README.md).
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from experiments.analysis import replay
from experiments.analysis.replay import replay_hits
from policies import PolicyError, engine, make_fast_policy, make_policy
from policies.compiled import CompiledPolicy
from policies.learned import INSTALL
from policies.lrb import EDC_WINDOWS, N_FEATURES
from sim import BackendSpec, ClusterSpec, Scenario
from sim.compiled_model import CompiledModel
from sim.engine import engine_for
from sim.model import Model
from tests.policies.tracedata import libcachesim_run, write_oracle_general, zipf_trace
from tests.trace_files import block_io_trace
from workloads import Lognormal, Poisson, Workload, Zipf
from workloads.ids import DenseIds

pytest.importorskip("lightgbm", reason=f"LRB needs LightGBM: {INSTALL}")
try:
    import libcachesim as lcs
except ImportError:
    lcs = None
live = pytest.mark.skipif(
    lcs is None or lcs.__version__ != "0.3.5", reason="parity is with libcachesim 0.3.5, not importable here"
)
needs_kernels = pytest.mark.skipif(engine() != "compiled", reason="the compiled engine is not running")
long_run = pytest.mark.skipif(
    not os.environ.get("KVSIM_LONG_TESTS"), reason="a long parity campaign: set KVSIM_LONG_TESTS=1 to run it"
)
#: a policy that trains after a few dozen samples, on small trees: the learned path in a short test
SMALL = {"memory_window": 1024, "batch_size": 40, "num_iterations": 4, "num_leaves": 4, "sample_rate": 8}


def evictions(cache, keys):
    """The keys each request evicted, request by request."""
    out = []
    for key in keys:
        out.append([] if cache.lookup(key) else cache.insert(key))
    return out


# -- before its first model, LRB is LRU: traced by hand ---------------------------------------------
def test_before_the_first_model_it_evicts_the_least_recently_used():
    cache = make_policy("lrb", 3)
    # a b c fill the cache; a's hit makes b the least recent; d evicts b, e evicts c, b evicts a
    assert evictions(cache, "abcadeb") == [[], [], [], [], ["b"], ["c"], ["a"]]
    assert cache.keys() == ["d", "e", "b"]
    assert cache.model is None and cache.trainings == 0


def test_an_evicted_key_is_remembered_until_a_window_after_its_last_request():
    cache = make_policy("lrb", 1, memory_window=1024)
    cache.access("a")  # request 0
    cache.access("b")  # request 1: evicts a, remembered (last request at 0)
    assert "a" in cache.metas and "a" not in cache
    for _ in range(1022):
        cache.access("b")  # requests 2 .. 1023: a is still remembered
    assert "a" in cache.metas
    cache.access("b")  # request 1024: a window after a's last request, a is forgotten
    assert "a" not in cache.metas


def test_sampling_starts_at_the_first_eviction():
    cache = make_policy("lrb", 2)
    for key in "abab":
        cache.access(key)
    assert not cache.sampling and all(not meta.samples for meta in cache.metas.values())
    cache.access("c")  # request 4 evicts a: from the next request on, each request samples one object
    assert cache.sampling
    cache.access("b")  # request 5
    assert sum(len(meta.samples) for meta in cache.metas.values()) == 1


def test_features_by_hand():
    cache = make_policy("lrb", 10, memory_window=2048)
    for key in ["x"] + ["y"] * 2 + ["x"] + ["y"] * 6 + ["x"]:  # x at requests 0, 3 and 10
        cache.access(key, 7)
    row = cache.features(cache.metas["x"], 14)
    assert len(row) == N_FEATURES == 44
    # age 4; distances 7 then 3 (most recent first), the rest 0; size 7; both within the window
    assert row[:4] == [4, 7, 3, 0] and row[32:34] == [7, 2]
    # EDCs: every distance and the age under each half-life: each count 1 + 1*(1 + 1) = 3, undecayed
    assert row[34:] == [3.0] * len(EDC_WINDOWS)
    assert cache.features(cache.metas["x"], 10 + 1024)[34] == 1.5  # a half-life later: halved


# -- the learned path ----------------------------------------------------------------------------------
def test_it_trains_on_labelled_samples_and_then_evicts_by_the_model():
    keys, _ = zipf_trace(3000, 300, 0.9, seed=5)
    cache = make_policy("lrb", 30, **SMALL)
    counts = replay(cache, keys)
    assert cache.trainings >= 10 and cache.model is not None
    lru = replay(make_policy("lru", 30), keys)
    assert counts.misses != lru.misses  # the model, not the LRU fallback, chose victims


def test_the_candidates_rows_computed_at_once_are_their_features():
    keys, _ = zipf_trace(3000, 300, 0.9, seed=8)
    cache = make_policy("lrb", 30, **SMALL)
    replay(cache, keys)
    cached = cache.keys()
    rows = cache.candidate_rows(cached)
    assert rows.tolist() == [cache.features(cache.metas[key], cache.now) for key in cached]


def test_labels_are_the_log_distance_to_the_next_request():
    cache = make_policy("lrb", 1, batch_size=10**6)
    for key in "abab":
        cache.access(key)  # request 1 evicts a: sampling from request 2 on
    sampled = {key: list(meta.samples) for key, meta in cache.metas.items()}
    assert sum(map(len, sampled.values())) == 2
    cache.access("a")
    cache.access("b")
    # every sample matured at its key's next request: label log1p(that request's time - the sample's)
    expected = sorted(math.log1p(next_time - t) for key, next_time in [("a", 4), ("b", 5)] for t in sampled[key])
    assert sorted(cache.labels) == pytest.approx(expected)


def test_same_seed_same_misses_other_seed_other_samples():
    keys, _ = zipf_trace(3000, 300, 0.9, seed=6)
    runs = [replay(make_policy("lrb", 30, seed=seed, **SMALL), keys).misses for seed in (1, 1, 2)]
    assert runs[0] == runs[1]
    assert make_policy("lrb", 30, seed=3, **SMALL).params()["seed"] == 3


def test_object_miss_ratio_scales_the_scores_by_size():
    keys, sizes = zipf_trace(3000, 300, 0.9, seed=7, size_sigma=1.5)
    by_bytes = replay(make_policy("lrb", 3_000_000, **SMALL), keys, sizes, count_bytes=True)
    by_objects = replay(
        make_policy("lrb", 3_000_000, objective="object-miss-ratio", **SMALL), keys, sizes, count_bytes=True
    )
    assert by_objects.misses != by_bytes.misses


@pytest.mark.parametrize(
    "params,message",
    [
        ({"objective": "hit-ratio"}, "objective must be one of byte-miss-ratio, object-miss-ratio"),
        ({"memory_window": 1000}, "memory_window"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"learning_rate": 0}, "learning_rate must be in (0, 1]"),
    ],
)
def test_bad_parameters_are_one_line_errors(params, message):
    with pytest.raises((PolicyError, ValueError), match=message.replace("(", r"\(").replace("]", r"\]")):
        make_policy("lrb", 10, **params)


# -- the compiled kernel (policies/_kernels/lrb.pyx) makes the same decisions -----------------------------
@needs_kernels
@pytest.mark.parametrize(
    "capacity,count_bytes,params",
    [(30, False, SMALL), (300_000, True, SMALL), (100, False, {**SMALL, "objective": "object-miss-ratio"})],
)
def test_the_kernel_trains_the_same_models_and_evicts_the_same_keys(capacity, count_bytes, params):
    keys, sizes = zipf_trace(4000, 400, 0.9, seed=9, size_sigma=0.7)
    reference, fast = make_policy("lrb", capacity, **params), make_fast_policy("lrb", capacity, **params)
    assert isinstance(fast, CompiledPolicy)
    expected = replay_hits(reference, keys, sizes, count_bytes)
    np.testing.assert_array_equal(replay_hits(fast, keys, sizes, count_bytes, DenseIds()(keys)), expected)
    assert fast.kernel.trainings == reference.trainings >= 20  # the model chose most victims
    assert fast.keys() == reference.keys()


@needs_kernels
def test_the_timed_models_compiled_loop_runs_the_kernel_as_the_python_loop_runs_the_policy():
    cluster = ClusterSpec(nodes=2, capacity=40, policy="lrb", policy_params=tuple(SMALL.items()), ttl=0.02)
    sc = Scenario(
        workload=Workload(Zipf(400, 0.9), Poisson(5000.0), write_fraction=0.1),
        cluster=cluster,
        backend=BackendSpec(latency=Lognormal(0.004, 0.6), concurrency=8),  # inserts land after other lookups
        requests=3000,
        warmup=0,
    )
    assert engine_for(sc) == "compiled"
    compiled, python = CompiledModel(sc, 5).run(), Model(sc, 5).run()
    assert compiled == python and compiled.hits > 0


# -- without LightGBM -------------------------------------------------------------------------------
def test_without_lightgbm_it_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # import lightgbm now raises ImportError
    with pytest.raises(PolicyError, match=r"^policy 'lrb' needs LightGBM, which is not installed: pip install"):
        make_policy("lrb", 10)


HIDE_LIGHTGBM = "import sys; sys.modules['lightgbm'] = None; from experiments.cli import main; sys.exit(main())"


def kvsim_without_lightgbm(*args, cwd):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run(
        [sys.executable, "-c", HIDE_LIGHTGBM, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_the_cli_without_lightgbm_lists_lrb_and_refuses_to_run_it(tmp_path):
    listed = kvsim_without_lightgbm("policies", cwd=tmp_path)
    assert listed.returncode == 0 and "lrb" in listed.stdout
    keys, sizes = zipf_trace(100, 10, 0.9, seed=1)
    trace = write_oracle_general(tmp_path / "t.oracleGeneral.bin", keys, sizes)
    before = set(tmp_path.iterdir())
    refused = kvsim_without_lightgbm("replay", str(trace), "--policy", "lrb", "--capacity", "5", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.strip().count("\n") == 0 and INSTALL in refused.stderr
    assert set(tmp_path.iterdir()) == before  # nothing written
    assert (
        "lightgbm"
        not in subprocess.run(
            [sys.executable, "-c", "import sys, policies; print(sorted(sys.modules))"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        ).stdout
    )  # no import of lightgbm at `import policies`


# -- parity with libcachesim 0.3.5 ----------------------------------------------------------------
@pytest.fixture(scope="module")
def short_traces(tmp_path_factory):
    directory = tmp_path_factory.mktemp("lrb")
    generated = {
        "zipf-0.9": zipf_trace(20000, 2000, 0.9, seed=4, size_sigma=0.7),
        "block-io": tuple(block_io_trace()[:2]),
    }
    return {
        name: (keys, sizes, write_oracle_general(directory / f"{name}.oracleGeneral.bin", keys, sizes))
        for name, (keys, sizes) in generated.items()
    }


@live
@pytest.mark.parametrize(
    "trace,capacity,count_bytes",
    [("zipf-0.9", 5, False), ("zipf-0.9", 200, False), ("zipf-0.9", 2_970_753, True), ("block-io", 300, False)],
)
def test_before_training_the_misses_equal_libcachesims_and_lrus(short_traces, trace, capacity, count_bytes):
    keys, sizes, path = short_traces[trace]
    ours = replay(make_policy("lrb", capacity), keys, sizes, count_bytes=count_bytes)
    kernels = replay(make_fast_policy("lrb", capacity), keys, sizes, count_bytes=count_bytes)  # either engine
    theirs, _ = libcachesim_run(path, "LRB", capacity, count_bytes)
    lru, _ = libcachesim_run(path, "LRU", capacity, count_bytes)
    assert ours.misses == kernels.misses == round(theirs * len(keys)) == round(lru * len(keys))


# Capacities: 0.1% and 5% of the objects, 1% of the bytes (as the randomised policies' long campaign).
@live
@long_run
@pytest.mark.parametrize("capacity,count_bytes", [(100, False), (5000, False), (13_000_000, True)])
def test_learned_miss_ratio_is_within_a_hundredth_of_libcachesims(tmp_path, capacity, count_bytes):
    keys, sizes = zipf_trace(1_000_000, 100_000, 0.9, seed=11, size_sigma=1.0)
    path = write_oracle_general(tmp_path / "zipf-1m.oracleGeneral.bin", keys, sizes)
    ours = replay(make_fast_policy("lrb", capacity), keys, sizes, count_bytes=count_bytes).miss_ratio
    theirs, _ = libcachesim_run(path, "LRB", capacity, count_bytes)
    assert abs(ours - theirs) <= 0.01, (capacity, ours, theirs)
