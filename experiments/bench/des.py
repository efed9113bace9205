"""The `des` section: the fast SimPy model against the naive process-per-request model."""

from __future__ import annotations

from experiments.bench.common import Bench, Section, best_time, target_line, value_line
from sim import BackendSpec, ClusterSpec, Scenario, run, run_naive
from workloads import Lognormal, Poisson, Workload, Zipf

#: figure -> (target, what the target says)
TARGETS = {
    "des_ratio_vs_naive": (8.0, "fast model >= 8x the naive model"),
    "des_requests_per_s": (1_000_000.0, ">= 1 million simulated requests/s, hit-heavy"),
}


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


def measure(bench: Bench) -> dict:
    bench.say("fast SimPy model against the naive model ...")
    return bench_des(bench.quick)


def report(figures: dict) -> list[str]:
    lines = [target_line(name, figures[name], *TARGETS[name]) for name in TARGETS if name in figures]
    if "des_models_agree" in figures:
        lines.append(value_line("fast and naive agree (hits, p99)", figures["des_models_agree"]))
    return lines


DES = Section("des", measure, report)
