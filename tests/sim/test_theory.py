"""The model against analytic results."""

import math

import pytest

from sim import ClusterSpec, BackendSpec, Scenario, run
from sim import theory
from workloads import Constant, Poisson, Workload, Zipf


def one_node(policy, keys, alpha, capacity, requests=300_000, warmup=100_000):
    # A backend that answers at once: the formulas assume a miss is cached immediately.
    return Scenario(
        workload=Workload(Zipf(keys, alpha), Poisson(10_000.0)),
        cluster=ClusterSpec(nodes=1, capacity=capacity, policy=policy),
        backend=BackendSpec(latency=Constant(0.0), concurrency=1),
        hit_latency=Constant(0.0),
        requests=requests,
        warmup=warmup,
    )


@pytest.mark.parametrize("keys,alpha,capacity", [(10_000, 0.8, 1_000), (100_000, 0.9, 5_000)])
def test_lru_hit_ratio_agrees_with_che(keys, alpha, capacity):
    result = run(one_node("lru", keys, alpha, capacity), seed=1)
    expected = theory.che_hit_ratio(Zipf(keys, alpha).pmf(), capacity)
    assert abs(result.hit_ratio - expected) < 0.01, (result.hit_ratio, expected)


def test_che_limits():
    p = Zipf(100, 0.0).pmf()
    assert theory.che_hit_ratio(p, 100) == 1.0
    # Uniform popularity: any policy holds C of N keys, hit ratio C/N.
    assert theory.che_hit_ratio(p, 25) == pytest.approx(0.25, abs=1e-9)
    assert theory.fifo_hit_ratio(p, 25) == pytest.approx(0.25, abs=1e-9)
    assert theory.lfu_hit_ratio(Zipf(100, 1.0).pmf(), 10) > theory.che_hit_ratio(Zipf(100, 1.0).pmf(), 10)


def test_erlang_c_known_values():
    assert theory.erlang_c(1, 0.5) == pytest.approx(0.5)
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # M/M/1: response time is exponential with rate mu - lambda.
    assert theory.mmc_response_quantile(1, 0.5, 1.0, 0.99) == pytest.approx(math.log(100) / 0.5)
