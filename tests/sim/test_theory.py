"""The timed model against analytic results, at the tolerances the docs state.

Each test builds a system for which a formula holds (independent requests,
instant backend where the formula assumes instant insertion) and checks the
simulated figure against it.
"""

import math

import numpy as np
import pytest

from sim import BackendSpec, ClusterSpec, Scenario, run, theory
from sim.balancer import ConsistentHashRing
from workloads import Constant, Exponential, Poisson, Uniform, Workload, Zipf

INSTANT = BackendSpec(latency=Constant(0.0), concurrency=1)


def one_node(policy, keys, alpha, capacity, requests=250_000, warmup=150_000, **cluster):
    # A backend that answers at once: the formulas assume a miss is cached immediately.
    return Scenario(
        workload=Workload(Zipf(keys, alpha), Poisson(10_000.0)),
        cluster=ClusterSpec(nodes=1, capacity=capacity, policy=policy, **cluster),
        backend=INSTANT,
        hit_latency=Constant(0.0),
        requests=requests,
        warmup=warmup,
    )


CATALOGUES = [(10_000, 0.6, 1_000), (10_000, 1.2, 500), (100_000, 0.8, 10_000), (100_000, 1.0, 2_000)]


@pytest.mark.parametrize("keys,alpha,capacity", CATALOGUES)
def test_lru_hit_ratio_agrees_with_che(keys, alpha, capacity):
    result = run(one_node("lru", keys, alpha, capacity), seed=1)
    expected = theory.che_hit_ratio(Zipf(keys, alpha).pmf(), capacity)
    assert abs(result.hit_ratio - expected) < 0.01, (result.hit_ratio, expected)


@pytest.mark.parametrize("keys,alpha,capacity", CATALOGUES)
def test_fifo_hit_ratio_agrees_with_its_characteristic_time(keys, alpha, capacity):
    result = run(one_node("fifo", keys, alpha, capacity), seed=2)
    expected = theory.fifo_hit_ratio(Zipf(keys, alpha).pmf(), capacity)
    assert abs(result.hit_ratio - expected) < 0.01, (result.hit_ratio, expected)


def test_random_shares_fifos_formula():
    result = run(one_node("random", 10_000, 0.9, 1_000), seed=3)
    expected = theory.fifo_hit_ratio(Zipf(10_000, 0.9).pmf(), 1_000)
    assert abs(result.hit_ratio - expected) < 0.01


def test_in_cache_lfu_lies_between_lru_and_static_top_c():
    # Perfect LFU (counts kept for every key ever seen) holds the top C keys.
    # Our LFU, like libCacheSim's, forgets a key's count when it is evicted, so
    # a popular newcomer starts at 1 and can be evicted first: it does better
    # than LRU under IRM but stays below the top-C bound.
    p = Zipf(10_000, 0.9).pmf()
    result = run(one_node("lfu", 10_000, 0.9, 1_000), seed=4)
    assert theory.che_hit_ratio(p, 1_000) + 0.02 < result.hit_ratio < theory.lfu_hit_ratio(p, 1_000)


@pytest.mark.parametrize("refresh", [False, True])
def test_ttl_hit_ratio_without_capacity_limit(refresh):
    keys, alpha, rate, ttl = 10_000, 0.8, 10_000.0, 0.5
    scenario = Scenario(
        workload=Workload(Zipf(keys, alpha), Poisson(rate)),
        cluster=ClusterSpec(nodes=1, capacity=keys, ttl=ttl, ttl_mode="refresh" if refresh else "insert"),
        backend=INSTANT,
        hit_latency=Constant(0.0),
        requests=200_000,
        warmup=50_000,
    )
    result = run(scenario, seed=5)
    expected = theory.ttl_hit_ratio_catalogue(Zipf(keys, alpha).pmf(), rate, ttl, reset_on_hit=refresh)
    assert abs(result.hit_ratio - expected) < 0.01, (result.hit_ratio, expected)
    assert result.expired > 0


@pytest.mark.parametrize("servers,load", [(1, 0.7), (4, 0.8), (16, 0.9)])
def test_backend_response_time_p99_agrees_with_erlang_c(servers, load):
    service_rate = 1000.0  # 1 ms mean service
    arrival_rate = load * servers * service_rate
    scenario = Scenario(
        # Every request is a one-hit wonder: all go to the backend, an M/M/c queue.
        workload=Workload(Uniform(10), Poisson(arrival_rate), one_hit_fraction=1.0),
        cluster=ClusterSpec(nodes=1, capacity=10),
        backend=BackendSpec(latency=Exponential(1.0 / service_rate), concurrency=servers),
        hit_latency=Constant(0.0),
        requests=200_000,
        warmup=20_000,
    )
    result = run(scenario, seed=6)
    assert result.backend_requests == result.requests
    expected_ms = 1000.0 * theory.mmc_response_quantile(servers, arrival_rate, service_rate, 0.99)
    assert result.p99_ms == pytest.approx(expected_ms, rel=0.05)
    expected_p50 = 1000.0 * theory.mmc_response_quantile(servers, arrival_rate, service_rate, 0.50)
    assert result.p50_ms == pytest.approx(expected_p50, rel=0.05)


@pytest.mark.parametrize("vnodes", [4, 16, 64, 256])
def test_ring_share_spread_against_virtual_node_count(vnodes):
    spreads = []
    for salt in range(4):  # several rings of 32 nodes: average out one ring's luck
        ring = ConsistentHashRing(32 + salt, vnodes)
        shares = ring.shares()
        spreads.append(shares.std() / shares.mean())
    assert np.mean(spreads) == pytest.approx(theory.ring_share_cv(vnodes), rel=0.3)


def test_erlang_c_known_values():
    assert theory.erlang_c(1, 0.5) == pytest.approx(0.5)
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # M/M/1: response time is exponential with rate mu - lambda.
    assert theory.mmc_response_quantile(1, 0.5, 1.0, 0.99) == pytest.approx(math.log(100) / 0.5)
    assert theory.mmc_wait_tail(1, 0.5, 1.0, 0.0) == pytest.approx(0.5)


def test_che_limits():
    p = Zipf(100, 0.0).pmf()
    assert theory.che_hit_ratio(p, 100) == 1.0
    # Uniform popularity: any policy holds C of N keys, hit ratio C/N.
    assert theory.che_hit_ratio(p, 25) == pytest.approx(0.25, abs=1e-9)
    assert theory.fifo_hit_ratio(p, 25) == pytest.approx(0.25, abs=1e-9)
    assert theory.lfu_hit_ratio(Zipf(100, 1.0).pmf(), 10) > theory.che_hit_ratio(Zipf(100, 1.0).pmf(), 10)


def bisect(occupancy, capacity: float) -> float:
    """The T with occupancy(T) = capacity, by plain bisection (an increasing occupancy): the slow, sure way."""
    low, high = 0.0, 1.0
    while occupancy(high) < capacity:
        low, high = high, 2.0 * high
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if occupancy(middle) < capacity else (low, middle)
    return (low + high) / 2


@pytest.mark.parametrize("keys,alpha", [(10_000, 0.0), (10_000, 1.2), (100_000, 0.9)])
@pytest.mark.parametrize("share", [1e-4, 0.01, 0.5, 0.9999])
def test_characteristic_times_are_the_roots_bisection_finds(keys, alpha, share):
    # From a capacity of one key to all keys but one (where T runs to millions of requests).
    p = Zipf(keys, alpha).pmf()
    capacity = share * keys
    che = bisect(lambda t: float(np.sum(-np.expm1(-p * t))), capacity)
    assert theory.che_time(p, capacity) == pytest.approx(che, rel=1e-10)
    fifo = bisect(lambda t: float(np.sum(p * t / (1.0 + p * t))), capacity)
    assert theory.fifo_hit_ratio(p, capacity) == pytest.approx(
        float(np.sum(p * p * fifo / (1.0 + p * fifo))), rel=1e-10
    )


def test_a_capacity_that_keys_of_popularity_zero_would_have_to_fill_is_refused():
    p = Zipf(100_000, 100.0).pmf()  # i ** -100 underflows to 0 beyond the first two thousand keys
    assert theory.che_hit_ratio(p, 500) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="popularity above 0"):
        theory.che_time(p, 5_000)
