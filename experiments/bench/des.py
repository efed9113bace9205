"""The `des` and `des_memory` sections: the fast SimPy model's speed and its memory.

des         the fast model against the naive process-per-request model, on a
            hit-heavy cluster; both must agree on hits and p99
des_memory  peak memory of a 100,000,000-request run of the fast model in a
            child process (5,000,000 with --quick): flat in the number of
            requests, since the metrics keep counters and histograms
"""

from __future__ import annotations

from experiments.bench.common import Bench, Section, best_time, peak_memory_mb, target_line, value_line
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


# -- memory of a long run --------------------------------------------------------------

#: measured requests of the `des_memory` run, in full and with --quick
MEMORY_REQUESTS = {False: 100_000_000, True: 5_000_000}
#: its warm-up: enough to fill the caches (60,000 objects)
MEMORY_WARMUP = 1_000_000
MEMORY_TARGET_MB = 500.0


def bench_des_memory(requests: int, warmup: int = MEMORY_WARMUP) -> dict:
    """Peak resident memory of a child process simulating a long run, and that run's backend utilisation.

    The run is the hit-heavy cluster, whose backend is far from saturated
    (utilisation about 0.2, reported): an overloaded backend queues misses
    without bound, and that memory would be the queue's, not the metrics'.
    """
    code = (
        "import dataclasses, sys\n"
        "from experiments.bench.des import hit_heavy_scenario\n"
        "from sim import run\n"
        "scenario = dataclasses.replace(hit_heavy_scenario(int(sys.argv[1])), warmup=int(sys.argv[2]))\n"
        "result = run(scenario, 1)\n"
        "print(result.requests, result.backend_utilisation)\n"
    )
    (requests, utilisation), peak_mb = peak_memory_mb(code, requests, warmup)
    return {
        "des_peak_mb_100m": peak_mb,
        "des_peak_requests": int(requests),
        "des_peak_backend_utilisation": float(utilisation),
    }


def measure_memory(bench: Bench) -> dict:
    bench.say(f"peak memory of a {MEMORY_REQUESTS[bench.quick]:,}-request run of the fast model ...")
    return bench_des_memory(MEMORY_REQUESTS[bench.quick])


def report_memory(figures: dict) -> list[str]:
    if "des_peak_mb_100m" not in figures:
        return []
    requests = figures["des_peak_requests"]
    size = f"{requests:,}-request run" + (
        "" if requests == MEMORY_REQUESTS[False] else f" (--quick; the target is for {MEMORY_REQUESTS[False]:,})"
    )
    text = f"peak memory (MB) of a {size}, target <= {MEMORY_TARGET_MB:.0f}"
    return [
        target_line("des_peak_mb_100m", figures["des_peak_mb_100m"], MEMORY_TARGET_MB, text, higher=False),
        value_line(
            "  its backend utilisation",
            figures["des_peak_backend_utilisation"],
            "< 1: the backend keeps up, no queue grows with the run",
        ),
    ]


DES_MEMORY = Section("des_memory", measure_memory, report_memory)
