"""3L-Cache (policies/threelcache.py): libstdc++'s generator and heap, LRU before the first training,
evictions by predicted reuse after it, determinism, the parameters, and LightGBM as an optional extra.

Parity with libcachesim 0.3.5 is in tests/policies/test_libcachesim_parity.py (the section at its end).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import replay
from policies import make_policy
from policies.threelcache import MinstdDraws, heap_pop, heap_push
from sim import ClusterSpec, run
from tests.experiments.conftest import kvsim_env, write_config
from tests.policies.test_hand_traced import trace
from tests.policies.tracedata import zipf_trace

pytest.importorskip("lightgbm")  # in the test extra; the one test that runs without it is in a subprocess


def test_draws_are_those_of_libstdcpps_default_random_engine():
    # std::uniform_int_distribution<size_t>()(std::default_random_engine()), printed by g++ 12 / libstdc++
    printed = [606610977102444280, 11680327234415193037, 3130710918123035464, 13055523280712283859]
    draws, unrolled = MinstdDraws(1), MinstdDraws(1)
    assert [draws.draw() for _ in range(4)] == [unrolled.draw64() for _ in range(4)] == printed
    assert [draws.draw() for _ in range(20000)] == [unrolled.draw64() for _ in range(20000)]
    assert MinstdDraws(0).state == MinstdDraws(2**31 - 1).state == 1  # a multiple of m seeds 1, as in libstdc++


def test_the_heap_breaks_ties_as_std_pop_heap():
    # reuse times 3 1 3 2 3 1 2 3 1 2 for keys 0..9, pushed with std::push_heap and popped with
    # std::pop_heap (g++ 12): equal times leave in the order the heap's shape gives, not by key
    heap: list = []
    for key, reuse in enumerate([3, 1, 3, 2, 3, 1, 2, 3, 1, 2]):
        heap_push(heap, (float(reuse), key))
    assert [heap_pop(heap)[1] for _ in range(10)] == [0, 2, 4, 7, 6, 9, 3, 5, 1, 8]


def test_before_its_first_training_it_evicts_as_lru():
    cache = make_policy("threelcache", 3)
    hits, evicted = trace(cache, ["a", "b", "c", "a", "d", "b", "e"])
    # [a b c]; a hit -> [b c a]; d evicts b -> [c a d]; b evicts c -> [a d b]; e evicts a -> [d b e]
    assert hits == [False, False, False, True, False, False, False]
    assert evicted == [[], [], [], [], ["b"], ["c"], ["a"]]
    assert cache.keys() == ["d", "b", "e"] and cache.booster is None


def test_without_a_model_its_misses_are_lrus():
    keys, sizes = zipf_trace(20000, 2000, 0.9, seed=4, size_sigma=0.7)
    for capacity, count_bytes in [(5, False), (200, False), (198_050, True)]:
        ours = replay(make_policy("threelcache", capacity), keys, sizes, count_bytes=count_bytes)
        assert ours == replay(make_policy("lru", capacity), keys, sizes, count_bytes=count_bytes)


def test_the_history_keeps_an_evicted_objects_features():
    cache = make_policy("threelcache", 2)
    for key in ["a", "a", "b", "c"]:  # requests 0..3: a twice, then c evicts a (the queue's head)
        cache.access(key)
    assert "a" not in cache and cache.key_map["a"].count == 2 and cache.key_map["a"].distances == [1]
    assert cache.access("a") is False  # request 4: back from the history, 3 requests after its last
    meta = cache.key_map["a"]
    assert (meta.count, meta.distances, meta.last) == (3, [1, 3], 4)
    indices: list = []
    data: list = []
    meta.row(7.0, indices, data)  # age, distances newest first, size, count
    assert (indices, data) == ([0, 1, 2, 4, 5], [7.0, 3.0, 1.0, 1.0, 3.0])
    assert len(cache.history) - cache.history_start <= len(cache) * (cache.hsw - 1) + 2


def test_after_training_it_evicts_the_longest_predicted_reuse():
    keys, _ = zipf_trace(6000, 400, 0.8, seed=2)
    cache = make_policy("threelcache", 40, batch_size=256)
    followed = not_lru = 0
    for key in keys.tolist():
        if cache.lookup(key):
            continue
        head = cache.metas[cache.head].key if cache.metas else None
        predicted = dict(cache.pred_map) if cache.booster is not None and cache.evict_budget > 0 else {}
        evicted = cache.insert(key)
        if predicted and evicted:
            longest = max(predicted.values())
            assert predicted[evicted[0]] == longest
            followed += 1
            not_lru += evicted[0] != head
    assert cache.trainings >= 3 and followed > 1000 and not_lru > 100


def test_it_is_deterministic():
    keys, _ = zipf_trace(5000, 500, 0.9, seed=8)

    def hits_and_model():
        cache = make_policy("threelcache", 50, batch_size=300)
        hits = [cache.access(key) for key in keys.tolist()]
        return hits, cache.booster.model_to_string(), cache.trainings

    first, second = hits_and_model(), hits_and_model()
    assert first == second and first[2] >= 2


@pytest.mark.parametrize(
    "params,field",
    [
        ({"objective": "hit-ratio"}, "objective"),
        ({"batch_size": 0}, "batch_size"),
        ({"num_iterations": 0}, "num_iterations"),
        ({"num_leaves": 1}, "num_leaves"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"learning_rate": True}, "learning_rate"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**64}, "seed"),
    ],
)
def test_bad_parameters_are_refused_by_name(params, field):
    with pytest.raises(ValueError, match=field):
        make_policy("threelcache", 10, **params)


#: the loop that runs it: the compiled one, with its kernel (policies/_kernels/threelcache.pyx), unless the
#: Python engine is forced
LOOP = "python" if os.environ.get("KVSIM_ENGINE") == "python" else "compiled"


def test_the_timed_model_runs_it_with_its_kernel_and_the_python_loops_results():
    from sim.compiled_model import Engine
    from sim.model import Model
    from tests.sim.test_model_vs_naive import scenario

    # two nodes, one model each, trained every 200 samples: both loops must agree on every field
    spec = ClusterSpec(nodes=2, capacity=60, policy="threelcache", policy_params=(("batch_size", 200),))
    sc = scenario(cluster=spec, requests=3000, warmup=500)
    result = run(sc, 5)
    assert result.engine == LOOP and 0 < result.hits < result.requests
    if Engine is not None and LOOP == "compiled":
        from sim.compiled_model import CompiledModel

        compiled, python = CompiledModel(sc, 5).run(), Model(sc, 5).run()
        assert compiled == python and compiled.timeseries == python.timeseries


def test_kvsim_run_takes_it_in_a_config_and_says_which_loop_ran(tmp_path):
    config = write_config(
        tmp_path,
        "[run]\nrequests = 2000\nwarmup = 200\nseeds = [1]\n[workload]\nkeys = 500\n[cluster]\nnodes = 1\n"
        'capacity = 50\npolicy = "threelcache"\npolicy_params = { batch_size = 100 }\n',
    )
    done = subprocess.run(
        [sys.executable, "-m", "experiments", "run", str(config), "--out", str(tmp_path / "out"), "--workers", "1"],
        capture_output=True, text=True, env=kvsim_env(), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(results) == 1 and 0 < results["hits"][0] < results["requests"][0] == 2000
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["engines"] == {"threelcache": LOOP}


HIDE_LIGHTGBM = "import sys; sys.modules['lightgbm'] = None; "


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=kvsim_env(), timeout=120)


def test_import_policies_does_not_import_lightgbm():
    done = python("import sys, policies; print('lightgbm' in sys.modules, 'threelcache' in policies.available())")
    assert done.stdout.split() == ["False", "True"], done.stderr


def test_without_lightgbm_choosing_it_says_what_to_install_and_exits_2(tmp_path):
    keys = np.arange(100) % 7
    trace_path = tmp_path / "t.txt"
    trace_path.write_text("\n".join(map(str, keys)) + "\n")
    cli = "from experiments.cli import main; raise SystemExit(main())"
    argv = f"sys.argv = ['kvsim', 'replay', {str(trace_path)!r}, '--policy', 'threelcache', '--capacity', '5']; "
    done = python(HIDE_LIGHTGBM + argv + cli)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "pip install 'kvsim[learned]'" in done.stderr, done.stderr
    listed = python(HIDE_LIGHTGBM + "sys.argv = ['kvsim', 'policies']; " + cli)
    assert listed.returncode == 0 and "threelcache" in listed.stdout
