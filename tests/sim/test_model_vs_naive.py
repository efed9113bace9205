"""The fast model against the process-per-request oracle: same hits, same latencies."""

import numpy as np
import pytest

from policies import available, policy_class
from sim import BackendSpec, ClusterSpec, Scenario, run, run_naive
from sim.scenario import BulkUpdates, Outage
from workloads import Constant, Exponential, KeyClass, Lognormal, OnOff, Poisson, UniformRange, Workload, Zipf

CASES = {
    "one LRU node": dict(cluster=ClusterSpec(nodes=1, capacity=200)),
    "four nodes, consistent": dict(cluster=ClusterSpec(nodes=4, capacity=60, policy="clock")),
    "modulo, lfu, queueing backend": dict(
        cluster=ClusterSpec(nodes=3, capacity=80, policy="lfu", balancer="modulo"),
        backend=BackendSpec(latency=Exponential(0.004), concurrency=2),
    ),
    "coalescing misses in flight": dict(
        cluster=ClusterSpec(nodes=2, capacity=100, policy="fifo"),
        backend=BackendSpec(latency=Lognormal(0.02, 0.5), concurrency=8, coalesce=True),
    ),
    "TTL, random policy": dict(
        cluster=ClusterSpec(nodes=2, capacity=150, policy="random", ttl=0.05),
    ),
    "byte capacity": dict(
        cluster=ClusterSpec(nodes=2, capacity=200_000, capacity_bytes=True),
        workload=Workload(Zipf(2000, 0.8), Poisson(5000.0), Lognormal(4096, 1.0)),
    ),
    "node queues, coalescing": dict(
        cluster=ClusterSpec(nodes=2, capacity=100, node_concurrency=1, node_service=Exponential(0.0002)),
        backend=BackendSpec(latency=Lognormal(0.01, 0.5), concurrency=3, coalesce=True),
    ),
    "node queues, no coalescing, lfu": dict(
        cluster=ClusterSpec(nodes=3, capacity=100, policy="lfu", node_concurrency=2, node_service=Exponential(0.0004)),
    ),
    "writes invalidate": dict(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.1),
        backend=BackendSpec(latency=Lognormal(0.01, 0.5), concurrency=64),
    ),
    "writes update, replicas": dict(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.1),
        cluster=ClusterSpec(nodes=3, capacity=100, replicas=2, write_policy="update"),
    ),
    "writes leave stale copies, TTL bounds them": dict(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.05),
        cluster=ClusterSpec(nodes=2, capacity=200, write_policy="none", ttl=0.2),
    ),
    "TTL refreshed on hit, drawn per insert, active expiry": dict(
        cluster=ClusterSpec(nodes=2, capacity=150, ttl=UniformRange(0.02, 0.1), ttl_mode="refresh", expiry="active"),
    ),
    "TTL per key class, bursty arrivals": dict(
        workload=Workload(
            None,
            OnOff(9000.0, 1000.0, 0.05, 0.1),
            classes=(
                KeyClass(Zipf(1000, 0.9), name="users", share=0.6),
                KeyClass(Zipf(500, 1.1), name="items", share=0.4),
            ),
        ),
        cluster=ClusterSpec(nodes=2, capacity=150, ttl=0.5, ttl_by_class=((1, 0.05),)),
    ),
    "rendezvous, replicas 2": dict(cluster=ClusterSpec(nodes=4, capacity=60, balancer="rendezvous", replicas=2)),
    "random spray": dict(cluster=ClusterSpec(nodes=3, capacity=100, balancer="random")),
    "power of two choices": dict(
        cluster=ClusterSpec(nodes=4, capacity=60, balancer="p2c", node_concurrency=1, node_service=Exponential(0.0005)),
    ),
    "power of two choices, down to one node": dict(
        cluster=ClusterSpec(nodes=2, capacity=100, balancer="p2c", failures=(Outage(0, 0.3, 0.8),)),
    ),
    "bounded loads": dict(
        cluster=ClusterSpec(nodes=4, capacity=60, balancer="bounded", bound_epsilon=0.1),
        backend=BackendSpec(latency=Lognormal(0.005, 0.5), concurrency=4, coalesce=True),
    ),
    "bounded loads through a failure": dict(
        cluster=ClusterSpec(nodes=3, capacity=80, balancer="bounded", failures=(Outage(1, 0.3, 0.9),)),
        backend=BackendSpec(latency=Lognormal(0.005, 0.5), concurrency=4),
    ),
    "failures, scheduled and random": dict(
        cluster=ClusterSpec(
            nodes=3, capacity=100, failures=(Outage(0, 0.3, 0.8), Outage(1, 0.5, 0.6)), mtbf_s=0.7, mttr_s=0.2
        ),
    ),
    "bulk updates, new keys, scans": dict(
        workload=Workload(
            Zipf(2000, 0.9),
            Poisson(5000.0),
            new_keys_per_s=200.0,
            scan_fraction=0.1,
            scan_keys=500,
            one_hit_fraction=0.05,
        ),
        updates=BulkUpdates(every_s=0.25, classes=(0,), invalidate=False),
    ),
    "bulk updates invalidate, rotating hot set, timeout": dict(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), rotate_every_s=0.3, rotate_by=50),
        updates=BulkUpdates(every_s=0.4, classes=(0,), invalidate=True),
        timeout_s=0.008,
    ),
}


def scenario(**overrides):
    base = dict(
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0)),
        backend=BackendSpec(latency=Lognormal(0.005, 0.5), concurrency=32),
        hit_latency=Lognormal(0.0002, 0.3),
        requests=6000,
        warmup=1500,
    )
    base.update(overrides)
    return Scenario(**base)


@pytest.mark.parametrize("case", list(CASES))
def test_fast_model_equals_naive_model(case):
    sc = scenario(**CASES[case])
    fast, naive = run(sc, seed=11), run_naive(sc, seed=11)
    assert fast.requests == naive.requests == 6000
    assert fast.hits == naive.hits
    assert fast.backend_requests == naive.backend_requests
    assert fast.coalesced == naive.coalesced
    assert fast.expired == naive.expired
    assert (fast.stale, fast.timeouts, fast.writes) == (naive.stale, naive.timeouts, naive.writes)
    assert fast.node_requests == naive.node_requests and fast.node_hits == naive.node_hits
    # Same latencies up to floating-point rounding of the same sums in another order: the
    # same histogram, so the same quantiles.
    assert fast.latency_histogram == naive.latency_histogram
    assert fast.latency_histogram.total == 6000 - fast.writes
    for metric in ("p50_ms", "p95_ms", "p99_ms", "p999_ms"):
        assert getattr(fast, metric) == getattr(naive, metric), metric
    assert fast.latency_quantiles == naive.latency_quantiles
    assert fast.mean_ms == pytest.approx(naive.mean_ms, rel=1e-9)
    # Offered load, summed each model its own way (service times of what it sent, slots held).
    assert fast.backend_utilisation == pytest.approx(naive.backend_utilisation, rel=1e-9)
    assert fast.node_utilisations == pytest.approx(naive.node_utilisations, rel=1e-9)
    assert 0 < fast.hits < fast.requests
    assert len(fast.timeseries) == len(naive.timeseries)
    for mine, theirs in zip(fast.timeseries, naive.timeseries):
        assert mine == pytest.approx(theirs, rel=1e-9)


def test_cases_exercise_what_they_claim():
    coalescing = run(scenario(**CASES["coalescing misses in flight"]), seed=11)
    assert coalescing.coalesced > 0
    ttl = run(scenario(**CASES["TTL, random policy"]), seed=11)
    assert ttl.expired > 0
    queueing = run(scenario(**CASES["modulo, lfu, queueing backend"]), seed=11)
    # With 2 backend servers the p99 includes queueing beyond the bare service time.
    assert queueing.p99_ms > 4 * np.log(100) * 0.8


def test_same_seed_same_result_other_seed_other_result():
    sc = scenario()
    assert run(sc, 3) == run(sc, 3)
    assert run(sc, 3).hits != run(sc, 4).hits


def test_warmup_is_excluded():
    sc = scenario(warmup=0)
    cold = run(sc, 5)
    warm = run(scenario(warmup=3000), 5)
    assert cold.requests == warm.requests == 6000
    assert warm.hit_ratio > cold.hit_ratio


def test_a_miss_fills_the_cache_only_when_the_backend_answers():
    # Every request is for the same key, 1 ms apart; the backend takes 10 ms.
    # Requests arriving before the fill miss too (no coalescing): the first 10.
    workload = Workload(Zipf(1, 0.0), Poisson(1000.0))
    sc = Scenario(
        workload=workload,
        cluster=ClusterSpec(nodes=1, capacity=10),
        backend=BackendSpec(latency=Constant(0.010), concurrency=100),
        hit_latency=Constant(0.0),
        requests=200,
        warmup=0,
    )
    result = run(sc, 1)
    naive = run_naive(sc, 1)
    assert result.hits == naive.hits
    misses = result.requests - result.hits
    assert result.backend_requests == misses
    assert 4 <= misses <= 25  # about 10 arrivals in the first 10 ms
    coalesced = run(Scenario(**{**sc.__dict__, "backend": BackendSpec(Constant(0.010), 100, coalesce=True)}), 1)
    assert coalesced.backend_requests == 1
    assert coalesced.coalesced == misses - 1


ONLINE_POLICIES = [name for name in available() if not policy_class(name).offline]


@pytest.mark.parametrize("policy", ONLINE_POLICIES)
def test_every_online_policy_runs_in_both_models_alike(policy):
    sc = scenario(
        cluster=ClusterSpec(nodes=2, capacity=120, policy=policy, ttl=0.3),
        workload=Workload(Zipf(2000, 0.9), Poisson(5000.0), write_fraction=0.02),
        requests=3000,
        warmup=500,
    )
    fast, naive = run(sc, seed=5), run_naive(sc, seed=5)
    assert (fast.hits, fast.backend_requests, fast.expired, fast.stale) == (
        naive.hits,
        naive.backend_requests,
        naive.expired,
        naive.stale,
    )
    assert fast.p99_ms == pytest.approx(naive.p99_ms, rel=1e-9)
    assert 0 < fast.hits < fast.requests


def test_admission_filter_in_the_timed_model_gets_a_seed_per_node():
    spec = ClusterSpec(
        nodes=2,
        capacity=100,
        policy="lru",
        policy_params=(("admission", "probabilistic"), ("admission_params", {"probability": 0.5})),
    )
    sc = scenario(cluster=spec)
    fast, naive = run(sc, seed=3), run_naive(sc, seed=3)
    assert fast.hits == naive.hits and 0 < fast.hits
    plain = run(scenario(cluster=ClusterSpec(nodes=2, capacity=100)), seed=3)
    assert fast.hits != plain.hits  # the filter does refuse some keys


@pytest.mark.parametrize("admission,params", [("bloomfilter", {}), ("adaptsize", {"reconf_interval": 200})])
def test_issue_22s_admission_filters_run_in_both_models_alike(admission, params):
    spec = ClusterSpec(
        nodes=2,
        capacity=100,
        policy="lru",
        policy_params=(("admission", admission), ("admission_params", params)),
    )
    sc = scenario(cluster=spec, workload=Workload(Zipf(2000, 0.9), Poisson(5000.0)), requests=4000)
    fast, naive = run(sc, seed=3), run_naive(sc, seed=3)
    assert (fast.hits, fast.backend_requests) == (naive.hits, naive.backend_requests) and 0 < fast.hits
    plain = run(scenario(cluster=ClusterSpec(nodes=2, capacity=100), workload=sc.workload, requests=4000), seed=3)
    assert fast.hits != plain.hits  # the filter does refuse some keys
