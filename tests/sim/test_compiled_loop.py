"""The compiled request loop against the Python one: identical results, on every feature.

sim/_compiled is sim/model.py's Model in C, decision for decision and in the
same order, so every field of a RunResult must be equal, floating-point sums
included: hits, flags, per-node counts, latency histograms and quantiles, the
time series, utilisations.  On random configurations both must also agree
with the naive model, as test_model_vs_naive.py holds them on its cases.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import BackendSpec, ClusterSpec, run, run_naive
from sim.compiled_model import CompiledModel, Engine
from sim.engine import engine_for
from sim.model import Model
from sim.scenario import BulkUpdates, Outage
from tests.sim.test_model_vs_naive import CASES, scenario
from workloads import Exponential, Lognormal, Poisson, UniformRange, Workload, Zipf

pytestmark = pytest.mark.skipif(Engine is None, reason="the compiled engine is not built")


def both(sc, seed):
    return CompiledModel(sc, seed).run(), Model(sc, seed).run()


@pytest.mark.parametrize("case", list(CASES))
def test_the_compiled_loop_gives_the_python_loops_results(case):
    compiled, python = both(scenario(**CASES[case]), 11)
    assert (compiled.engine, python.engine) == ("compiled", "python")
    assert compiled == python  # every field, exactly
    assert compiled.latency_histogram == python.latency_histogram
    assert compiled.timeseries == python.timeseries


def test_run_picks_the_compiled_loop_for_built_in_policies_only():
    assert run(scenario(), 1).engine == engine_for(scenario())
    timed = scenario(cluster=ClusterSpec(nodes=1, capacity=100, policy="redis-lru"), requests=500, warmup=0)
    assert engine_for(timed) == run(timed, 1).engine == "python"


clusters = st.builds(
    dict,
    nodes=st.integers(1, 4),
    capacity=st.integers(5, 80),
    policy=st.sampled_from(["lru", "fifo", "s3fifo", "arc", "lirs", "random", "wtinylfu", "lfu", "slru"]),
    balancer=st.sampled_from(["consistent", "modulo", "random", "p2c", "bounded"]),
    replicas=st.integers(1, 3),
    ttl=st.sampled_from([0.0, 0.01, 0.05]),
    ttl_mode=st.sampled_from(["insert", "refresh"]),
    expiry=st.sampled_from(["lazy", "active"]),
    node_concurrency=st.sampled_from([0, 1, 2]),
    write_policy=st.sampled_from(["invalidate", "update", "none"]),
    failures=st.sampled_from([(), (Outage(0, 0.05, 0.15),), (Outage(0, 0.02, 0.3), Outage(1, 0.1, 0.2))]),
)


updates = st.sampled_from(
    [BulkUpdates(), BulkUpdates(every_s=0.07, classes=(0,)), BulkUpdates(every_s=0.05, classes=(0,), invalidate=False)]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cluster=clusters,
    coalesce=st.booleans(),
    write_fraction=st.sampled_from([0.0, 0.1]),
    updates=updates,
    seed=st.integers(0, 1000),
)
def test_both_loops_and_the_naive_model_agree_on_random_configurations(
    cluster, coalesce, write_fraction, updates, seed
):
    cluster = dict(cluster, replicas=min(cluster["replicas"], cluster["nodes"]))
    if cluster["nodes"] < 2:
        cluster["failures"] = ()
    sc = scenario(
        workload=Workload(Zipf(300, 0.9), Poisson(5000.0), write_fraction=write_fraction),
        cluster=ClusterSpec(**cluster, node_service=Exponential(0.0003)),
        backend=BackendSpec(latency=Lognormal(0.004, 0.6), concurrency=3, coalesce=coalesce),
        hit_latency=UniformRange(0.0001, 0.0003),
        updates=updates,
        requests=1500,
        warmup=300,
    )
    compiled, python = both(sc, seed)
    assert compiled == python
    naive = run_naive(sc, seed)
    counts = ("hits", "backend_requests", "coalesced", "expired", "stale", "writes", "node_requests", "node_hits")
    assert [getattr(compiled, name) for name in counts] == [getattr(naive, name) for name in counts]
    assert compiled.latency_histogram == naive.latency_histogram
