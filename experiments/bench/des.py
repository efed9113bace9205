"""The `des` and `des_memory` sections: the fast SimPy model's speed and its memory.

des         the fast model against the naive process-per-request model, on a
            hit-heavy cluster; both must agree on hits and p99.  Then the
            fast model alone with the common features on (a TTL, 5% writes,
            two replicas, a node failing and coming back)
des_memory  peak memory of a 100,000,000-request run of the fast model in a
            child process (5,000,000 with --quick): flat in the number of
            requests, since the metrics keep counters and histograms; and of
            a 10,000,000-request run over a catalogue of 10**9 Zipf keys
            (2,000,000 with --quick): memory follows the caches, not the keys

Each says which request loop ran (``des_engine``: "compiled" or "python",
sim/engine.py).
"""

from __future__ import annotations

import dataclasses

from experiments.bench.common import Bench, Section, best_time, peak_memory_mb, target_line, value_line
from sim import BackendSpec, ClusterSpec, Scenario, run, run_naive
from sim.scenario import Outage
from workloads import Lognormal, Poisson, Workload, Zipf

#: figure -> (target, what the target says)
TARGETS = {
    "des_ratio_vs_naive": (50.0, "fast model >= 50x the naive model"),
    "des_requests_per_s": (5_000_000.0, ">= 5 million simulated requests/s, hit-heavy"),
    "des_general_requests_per_s": (1_500_000.0, ">= 1.5 million/s with TTL, 5% writes, 2 replicas, a failure"),
}


def hit_heavy_scenario(requests: int) -> Scenario:
    """4 LRU nodes of 15,000 objects, Zipf(0.9) over 100,000 keys: 88% hits."""
    return Scenario(
        workload=Workload(Zipf(100_000, 0.9), Poisson(20_000.0)),
        cluster=ClusterSpec(nodes=4, capacity=15_000, policy="lru"),
        backend=BackendSpec(latency=Lognormal(0.005, 0.5), concurrency=64),
        hit_latency=Lognormal(0.0002, 0.3),
        requests=requests,
        warmup=requests // 4,
    )


def general_scenario(requests: int) -> Scenario:
    """The hit-heavy cluster with the common features on: a 5-second TTL, 5% writes (invalidating
    copies), replication 2, and node 1 down over the middle third of the run (it comes back cold)."""
    scenario = hit_heavy_scenario(requests)
    span = scenario.total_requests / scenario.workload.arrivals.rate
    return dataclasses.replace(
        scenario,
        workload=dataclasses.replace(scenario.workload, write_fraction=0.05),
        cluster=dataclasses.replace(
            scenario.cluster, ttl=5.0, replicas=2, failures=(Outage(1, span / 3, 2 * span / 3),)
        ),
    )


def bench_des(quick: bool) -> dict:
    """Simulated requests per second of the fast and the naive model, same scenario and seed; then
    the fast model's with the common features on."""
    scenario = hit_heavy_scenario(100_000 if quick else 400_000)
    total = scenario.total_requests
    fast_time, fast = best_time(lambda: run(scenario, 1), repeat=3)
    naive_time, naive = best_time(lambda: run_naive(scenario, 1), repeat=1 if quick else 2)
    general = general_scenario(100_000 if quick else 400_000)
    general_time, general_result = best_time(lambda: run(general, 1), repeat=3)
    return {
        "des_engine": fast.engine,
        "des_requests_per_s": total / fast_time,
        "des_naive_requests_per_s": total / naive_time,
        "des_ratio_vs_naive": naive_time / fast_time,
        "des_hit_ratio": fast.hit_ratio,
        "des_models_agree": fast.hits == naive.hits and abs(fast.p99_ms - naive.p99_ms) <= 1e-9 * naive.p99_ms,
        "des_general_requests_per_s": general.total_requests / general_time,
        "des_general_hit_ratio": general_result.hit_ratio,
        "des_general_stale": general_result.stale,
        "des_general_expired": general_result.expired,
    }


def measure(bench: Bench) -> dict:
    bench.say("fast SimPy model against the naive model, then with TTL, writes, replicas and a failure ...")
    return bench_des(bench.quick)


def report(figures: dict) -> list[str]:
    lines = [target_line(name, figures[name], *TARGETS[name]) for name in TARGETS if name in figures]
    if "des_models_agree" in figures:
        lines.append(value_line("fast and naive agree (hits, p99)", figures["des_models_agree"]))
    if "des_engine" in figures:
        lines.append(value_line("  request loop", figures["des_engine"], "sim/engine.py: compiled or python"))
    return lines


DES = Section("des", measure, report)


# -- memory of a long run --------------------------------------------------------------

#: measured requests of the `des_memory` run, in full and with --quick
MEMORY_REQUESTS = {False: 100_000_000, True: 5_000_000}
#: its warm-up: enough to fill the caches (60,000 objects)
MEMORY_WARMUP = 1_000_000
MEMORY_TARGET_MB = 500.0

#: measured requests of the run over 10**9 keys, in full and with --quick (a tenth more of warm-up)
ZIPF_REQUESTS = {False: 10_000_000, True: 2_000_000}
ZIPF_TARGET_MB = 300.0


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


def billion_keys_scenario(requests: int) -> Scenario:
    """The hit-heavy cluster over Zipf(0.9) on 10**9 keys, nodes of 250,000 objects (a third of reads
    hit): memory follows the caches, not the catalogue.  The backend has 256 servers, so it keeps up
    with the misses (utilisation about 0.3, reported)."""
    scenario = hit_heavy_scenario(requests)
    return dataclasses.replace(
        scenario,
        workload=dataclasses.replace(scenario.workload, popularity=Zipf(10**9, 0.9)),
        cluster=dataclasses.replace(scenario.cluster, capacity=250_000),
        backend=dataclasses.replace(scenario.backend, concurrency=256),
        warmup=requests // 10,
    )


def bench_zipf_memory(requests: int) -> dict:
    """Peak resident memory of a child process simulating `billion_keys_scenario`, and what it ran."""
    code = (
        "import sys\n"
        "from experiments.bench.des import billion_keys_scenario\n"
        "from sim import run\n"
        "result = run(billion_keys_scenario(int(sys.argv[1])), 1)\n"
        "print(result.requests, result.hit_ratio, result.backend_utilisation, result.engine)\n"
    )
    (requests, hit_ratio, utilisation, engine), peak_mb = peak_memory_mb(code, requests)
    return {
        "zipf_1e9_peak_mb": peak_mb,
        "zipf_1e9_requests": int(requests),
        "zipf_1e9_hit_ratio": float(hit_ratio),
        "zipf_1e9_backend_utilisation": float(utilisation),
        "zipf_1e9_engine": engine,
    }


def measure_memory(bench: Bench) -> dict:
    bench.say(f"peak memory of a {MEMORY_REQUESTS[bench.quick]:,}-request run of the fast model ...")
    figures = bench_des_memory(MEMORY_REQUESTS[bench.quick])
    bench.say(f"peak memory of a {ZIPF_REQUESTS[bench.quick]:,}-request run over 10**9 keys ...")
    return figures | bench_zipf_memory(ZIPF_REQUESTS[bench.quick])


def _memory_lines(name: str, peak_mb: float, requests: int, full: int, target: float, over: str, detail) -> list:
    """A peak-memory figure's line (`over`: what the run is over), then a line of `detail` (name, value, text)."""
    size = f"{requests:,}-request run" + ("" if requests == full else f" (--quick; the target is for {full:,})")
    text = f"peak memory (MB) of a {size}{over}, target <= {target:.0f}"
    return [target_line(name, peak_mb, target, text, higher=False), value_line(*detail)]


def report_memory(figures: dict) -> list[str]:
    lines = []
    if "des_peak_mb_100m" in figures:
        lines += _memory_lines(
            "des_peak_mb_100m",
            figures["des_peak_mb_100m"],
            figures["des_peak_requests"],
            MEMORY_REQUESTS[False],
            MEMORY_TARGET_MB,
            "",
            (
                "  its backend utilisation",
                figures["des_peak_backend_utilisation"],
                "< 1: the backend keeps up, no queue grows with the run",
            ),
        )
    if "zipf_1e9_peak_mb" in figures:
        lines += _memory_lines(
            "zipf_1e9_peak_mb",
            figures["zipf_1e9_peak_mb"],
            figures["zipf_1e9_requests"],
            ZIPF_REQUESTS[False],
            ZIPF_TARGET_MB,
            " over 10**9 Zipf keys",
            (
                "  its hit ratio, backend utilisation",
                f"{figures['zipf_1e9_hit_ratio']:.2f}, {figures['zipf_1e9_backend_utilisation']:.2f}",
                f"{figures['zipf_1e9_engine']} loop",
            ),
        )
    return lines


DES_MEMORY = Section("des_memory", measure_memory, report_memory)
