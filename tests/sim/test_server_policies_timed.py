"""The server models in the timed model: simulated time reaches them, and a byte capacity means server memory."""

import pytest

from sim import ClusterSpec, Scenario, run
from sim.naive import run_naive
from workloads import Constant, Poisson, Workload, Zipf


def scenario(policy: str, rate: float, capacity=1000, capacity_bytes=False, size=1) -> Scenario:
    return Scenario(
        Workload(Zipf(3000, 0.9), Poisson(rate), object_size=Constant(size)),
        ClusterSpec(nodes=1, capacity=capacity, capacity_bytes=capacity_bytes, policy=policy),
        requests=20_000,
        warmup=5000,
    )


def test_redis_lru_reads_simulated_time():
    # At 100 requests a second the one-second LRU clock tells recent keys from old ones: sampled
    # LRU beats random eviction.  At a million a second the whole run is one tick: every key is
    # idle 0 and sampled LRU is random eviction.
    def gain(rate):
        return (
            run(scenario("redis-lru", rate), seed=2).hit_ratio - run(scenario("redis-random", rate), seed=2).hit_ratio
        )

    assert gain(100.0) > 0.03
    assert abs(gain(1_000_000.0)) < 0.01


@pytest.mark.parametrize("policy", ["redis-lru", "redis-lfu", "memcached"])
def test_byte_capacity_is_server_memory_in_both_models(policy):
    sc = scenario(policy, 2000.0, capacity=4 * 1024 * 1024, capacity_bytes=True, size=2000)
    fast, naive = run(sc, seed=4), run_naive(sc, seed=4)
    assert (fast.hits, fast.backend_requests) == (naive.hits, naive.backend_requests)
    # 4 MiB hold about 1480 values of 2000 bytes with Redis's overheads and baseline, 1804
    # in memcached's 2320-byte chunks; a model counting values only would hold 2097.
    values_only = run(scenario("lru", 2000.0, capacity=4 * 1024 * 1024, capacity_bytes=True, size=2000), seed=4)
    assert fast.hit_ratio < values_only.hit_ratio
