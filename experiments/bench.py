"""`kvsim bench`: speed measured against baselines, side by side in one run.

Every figure is a ratio of two things timed in this process, on the same
machine, one after the other, so the ratio means something even on a noisy
machine where the absolute numbers do not.  Timings take the best of a few
repetitions (the least disturbed one).

    des         the fast SimPy model against the naive process-per-request
                model, on a hit-heavy cluster; both must agree on hits and p99
    replay      trace replay per policy against libcachesim's process_trace
                on the same oracleGeneral trace (when libcachesim is installed)
    mrc         the one-pass LRU miss-ratio curve against per-capacity replays
    sweep       a sweep on one worker against all cores
    memory      peak memory of streaming a long trace through a policy
"""

from __future__ import annotations

import os
import platform
import time
from typing import Callable

from sim import BackendSpec, ClusterSpec, Scenario, run, run_naive
from workloads import Lognormal, Poisson, Workload, Zipf


def best_time(function: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """The shortest wall time of `repeat` calls, and the last call's result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def hit_heavy_scenario(requests: int) -> Scenario:
    """4 LRU nodes, Zipf(0.9) over 100,000 keys, about 90% hits."""
    return Scenario(
        workload=Workload(Zipf(100_000, 0.9), Poisson(20_000.0)),
        cluster=ClusterSpec(nodes=4, capacity=15_000, policy="lru"),
        backend=BackendSpec(latency=Lognormal(0.005, 0.5), concurrency=64),
        hit_latency=Lognormal(0.0002, 0.3),
        requests=requests,
        warmup=requests // 4,
    )


def bench_des(quick: bool) -> dict:
    """Simulated requests per second of the fast and the naive model, same scenario and seed."""
    scenario = hit_heavy_scenario(100_000 if quick else 400_000)
    total = scenario.total_requests
    fast_time, fast = best_time(lambda: run(scenario, 1), repeat=3)
    naive_time, naive = best_time(lambda: run_naive(scenario, 1), repeat=1 if quick else 2)
    return {
        "des_requests_per_s": total / fast_time,
        "des_naive_requests_per_s": total / naive_time,
        "des_ratio_vs_naive": naive_time / fast_time,
        "des_hit_ratio": fast.hit_ratio,
        "des_models_agree": fast.hits == naive.hits and abs(fast.p99_ms - naive.p99_ms) <= 1e-9 * naive.p99_ms,
    }


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }
