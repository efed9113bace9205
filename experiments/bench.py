"""`kvsim bench`: speed measured against baselines, side by side in one run.

Every figure is a ratio of two things timed in this process, on the same
machine, one after the other, so the ratio means something even on a noisy
machine where the absolute numbers do not.  Timings take the best of a few
repetitions (the least disturbed one).

    des         the fast SimPy model against the naive process-per-request
                model, on a hit-heavy cluster; both must agree on hits and p99
    replay      trace replay per policy, in process and reading included, against
                libcachesim's process_trace on the same oracleGeneral file (when
                libcachesim is installed): a long Zipf trace, written once and
                cached (see long_trace), and libCacheSim's small sample
    mrc         the one-pass LRU miss-ratio curve against per-capacity replays
    sweep       a sweep on one worker against all cores
    memory      peak memory of streaming a long trace through a policy
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from experiments.config import resolve
from experiments.execute import atomic_write
from experiments.runner import run_experiment
from experiments.sweep import points
from policies import available, engine, make_fast_policy, make_policy
from policies.compiled import engine_of
from policies.mrc import lru_mrc
from policies.replay import ReplayCounts, prepare_offline, replay_batches
from sim import BackendSpec, ClusterSpec, Scenario, run, run_naive
from workloads import Lognormal, Poisson, Workload, Zipf
from workloads.ids import DenseIds, dense_batches
from workloads.traces import open_trace, oracle_general_records, write_oracle_general


def best_time(function: Callable, repeat: int = 3, setup: Callable | None = None) -> tuple[float, object]:
    """The shortest wall time of `repeat` calls, and the last call's result.

    With `setup`, each call is ``function(setup())`` and only the call is timed.
    """
    best, result = float("inf"), None
    for _ in range(repeat):
        argument = setup() if setup else None
        start = time.perf_counter()
        result = function(argument) if setup else function()
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


# -- replay against libcachesim ------------------------------------------------

#: our registry name -> libcachesim's class name, for the policies both have
LIBCACHESIM_NAMES = {
    "lru": "LRU",
    "fifo": "FIFO",
    "clock": "Clock",
    "sieve": "Sieve",
    "slru": "SLRU",
    "twoq": "TwoQ",
    "arc": "ARC",
    "lirs": "LIRS",
    "s3fifo": "S3FIFO",
    "lfu": "LFU",
    "lfuda": "LFUDA",
    "gdsf": "GDSF",
    "wtinylfu": "WTinyLFU",
    "belady": "Belady",
    "random": "Random",
}

#: the policies whose replay must be at least twice as fast as libcachesim's (the rest: as fast)
FAST_POLICIES = ("lru", "fifo", "clock", "sieve", "s3fifo")

#: the long trace: Zipf(0.9) over a million keys, lognormal sizes (median 4 KiB); --quick: a fifth of it
LONG_TRACE_KEYS, LONG_TRACE_REQUESTS, QUICK_TRACE_REQUESTS = 1_000_000, 5_000_000, 1_000_000

#: where the long trace is kept between runs (default: $XDG_CACHE_HOME/kvsim, or ~/.cache/kvsim)
CACHE_VARIABLE = "KVSIM_CACHE_DIR"


def cache_dir() -> Path:
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kvsim"


def long_trace(quick: bool, say: Callable[[str], None] = lambda text: None) -> tuple[Path, str]:
    """The long Zipf trace as an oracleGeneral file, written the first time (atomically) and then reused."""
    n = QUICK_TRACE_REQUESTS if quick else LONG_TRACE_REQUESTS
    path = cache_dir() / f"zipf0.9-{LONG_TRACE_KEYS}keys-{n}requests.oracleGeneral.bin"
    description = f"Zipf(0.9) over {LONG_TRACE_KEYS:,} keys, {n:,} requests, lognormal sizes ({path})"
    if not path.exists():
        say(f"writing the benchmark trace once: {path} ...")
        workload = Workload(Zipf(LONG_TRACE_KEYS, 0.9), Poisson(1.0), Lognormal(4096, 1.0))
        keys = np.concatenate([batch.key for batch in workload.batches(1, n)])
        records = oracle_general_records(keys, sizes=workload.sizes_of(keys, 1))
        atomic_write(path, records.tobytes())
    return path, description


def bench_trace(work: Path, quick: bool) -> tuple[Path, str]:
    """The oracleGeneral trace to replay: libCacheSim's sample when it is at hand, else a Zipf one."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "libcachesim-data" / "cloudPhysicsIO.oracleGeneral.bin"
    if shared.exists():
        return shared, "cloudPhysicsIO (libCacheSim's sample, 113,872 requests)"
    n = 200_000 if quick else 1_000_000
    workload = Workload(Zipf(100_000, 0.9), Poisson(1.0), Lognormal(4096, 1.0))
    keys = np.concatenate([b.key for b in workload.batches(1, n)])
    path = write_oracle_general(work / "zipf.oracleGeneral.bin", keys, sizes=workload.sizes_of(keys, 1))
    return path, f"generated Zipf(0.9) over 100,000 keys, {n:,} requests, lognormal sizes"


def our_replay(policy, path: Path) -> ReplayCounts:
    """Replay the trace file through `policy`, counting bytes, as `kvsim replay` does.

    A compiled policy gets the keys' dense ids, numbered as the chunks are read.
    """
    trace = open_trace(path, "oraclegeneral")
    dense = DenseIds() if engine_of(policy) == "compiled" else None
    prepare_offline([policy], trace.keys, dense)
    batches = trace.chunks() if dense is None else dense_batches(trace.chunks(), dense)
    return replay_batches(policy, batches, count_bytes=True)


def bench_replay(path: Path, quick: bool, names=None) -> dict:
    """Per policy: libcachesim's process_trace time / ours, and both miss ratios.

    Both are timed in this process from the same file, from opening it to the
    last request (libcachesim's cache and our policy are built beforehand:
    libcachesim allocates its hash table up front).  `names`: a subset of
    LIBCACHESIM_NAMES.
    """
    try:
        import libcachesim
    except ImportError:
        return {}
    records = np.fromfile(path, dtype=[("time", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
    _, first = np.unique(records["id"], return_index=True)
    capacity = int(records["size"][first].sum() // 10)  # a tenth of the working set, in bytes
    del records, first
    figures = {}
    for name in names or LIBCACHESIM_NAMES:
        class_name = LIBCACHESIM_NAMES[name]
        if name not in available() or not hasattr(libcachesim, class_name):
            continue

        def reference_cache(class_name=class_name):
            reader = libcachesim.TraceReader(trace=str(path), trace_type=libcachesim.TraceType.ORACLE_GENERAL_TRACE)
            return getattr(libcachesim, class_name)(cache_size=capacity), reader

        repeat = 1 if quick else 2
        theirs_time, (their_miss_ratio, _) = best_time(
            lambda made: made[0].process_trace(made[1]), repeat, setup=reference_cache
        )
        ours_time, (ours, ran_by) = best_time(
            lambda policy: (our_replay(policy, path), engine_of(policy)),
            repeat,
            setup=lambda name=name: make_fast_policy(name, capacity),
        )
        figures[name] = {
            "ratio": theirs_time / ours_time,
            "ours_s": ours_time,
            "libcachesim_s": theirs_time,
            "miss_ratio": ours.miss_ratio,
            "libcachesim_miss_ratio": float(their_miss_ratio),
            "engine": ran_by,
        }
    return figures


# -- miss-ratio curve: one pass against replays ----------------------------------


def bench_mrc(path: Path, quick: bool) -> dict:
    """The exact one-pass LRU curve at 100 capacities against 100 LRU replays (objects)."""
    trace = open_trace(path, "oraclegeneral")
    distinct = len(np.unique(trace.keys()))
    capacities = np.unique(np.geomspace(10, max(distinct, 20), 100).astype(np.int64))
    one_pass_time, curve = best_time(lambda: lru_mrc(trace.chunks(), capacities), 2)
    replays = capacities if not quick else capacities[::10]

    def all_replays():
        return [replay_batches(make_policy("lru", int(c)), trace.chunks()).misses for c in replays]

    replay_time, misses = best_time(all_replays, 1)
    per_replay = replay_time / len(replays)
    return {
        "mrc_ratio_vs_replays": per_replay * len(capacities) / one_pass_time,
        "mrc_capacities": len(capacities),
        "mrc_one_pass_s": one_pass_time,
        "mrc_agrees": list(curve.misses[:: (10 if quick else 1)][: len(misses)]) == misses,
    }


# -- a sweep on one worker against all cores --------------------------------------


def bench_sweep(quick: bool) -> dict:
    """Wall time of the same sweep with --workers 1 and with one worker per core."""
    cores = machine()["cores"]
    # Enough runs of a fair length that start-up and the last straggler weigh little.
    experiment = resolve(
        "quickstart",
        {
            "run.requests": 100_000 if quick else 200_000,
            "run.warmup": 20_000,
            "run.seeds": [1, 2] if quick else [1, 2, 3, 4],
        },
    )
    with tempfile.TemporaryDirectory(prefix="kvsim-bench-") as scratch:
        one, _ = best_time(
            lambda: run_experiment(experiment, Path(scratch) / "one", workers=1, progress=False, figures=False), 1
        )
        many, _ = best_time(
            lambda: run_experiment(experiment, Path(scratch) / "many", workers=cores, progress=False, figures=False), 1
        )
    return {"sweep_speedup": one / many, "sweep_workers": cores, "sweep_runs": len(points(experiment))}


# -- memory of a long streamed replay --------------------------------------------------


def bench_memory(work: Path, quick: bool) -> dict:
    """Peak resident memory of a child process that streams a long trace through LRU, as `kvsim replay`."""
    n = 2_000_000 if quick else 10_000_000
    path = work / "long.oracleGeneral.bin"
    rng = np.random.default_rng(7)
    write_oracle_general(path, Zipf(1_000_000, 0.9).ranks(rng, n))
    # The high-water mark of the child's own address space (VmHWM): ru_maxrss would
    # also count the parent's memory, which a forked child carries until it execs.
    code = (
        "import sys\n"
        "from experiments.bench import our_replay\n"
        "from policies import make_fast_policy\n"
        "counts = our_replay(make_fast_policy('lru', 100_000), sys.argv[1])\n"
        "peak = [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0]\n"
        "print(counts.requests, peak)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=True)
    requests, peak_kb = (int(v) for v in done.stdout.split())
    return {"replay_peak_mb": peak_kb / 1024, "replay_peak_requests": requests}


# -- the whole benchmark ----------------------------------------------------------------

#: figure -> (target, what the target says), for the report
TARGETS = {
    "des_ratio_vs_naive": (8.0, "fast model >= 8x the naive model"),
    "des_requests_per_s": (1_000_000.0, ">= 1 million simulated requests/s, hit-heavy"),
    "mrc_ratio_vs_replays": (20.0, "one-pass LRU curve >= 20x 100 replays"),
    "sweep_speedup": (1.8, "sweep speed-up >= 1.8x on 2 workers"),
}
REPLAY_TARGET_FAST, REPLAY_TARGET_OTHERS = 2.0, 1.0  # on the long trace
MEMORY_TARGET_MB = 300.0
SECTIONS = ("des", "replay", "mrc", "sweep", "memory")


def run_bench(quick: bool = False, sections=SECTIONS, progress: Callable[[str], None] | None = None) -> dict:
    """Every section's figures in one dict (the keys of `kvsim bench --json`)."""
    say = progress or (lambda text: None)
    figures: dict = {"quick": quick, "machine": machine(), "engine": engine()}
    with tempfile.TemporaryDirectory(prefix="kvsim-bench-") as scratch:
        work = Path(scratch)
        trace, description = bench_trace(work, quick)
        if "des" in sections:
            say("fast SimPy model against the naive model ...")
            figures.update(bench_des(quick))
        if "replay" in sections:
            long_path, long_description = long_trace(quick, say)
            say(f"replay against libcachesim on {long_description} ...")
            replay_figures = bench_replay(long_path, quick)
            figures["replay_trace"] = long_description
            figures["replay_ratio_vs_libcachesim"] = {name: f["ratio"] for name, f in replay_figures.items()}
            figures["replay_detail"] = replay_figures
            say(f"replay against libcachesim on {description} ...")
            small_figures = bench_replay(trace, quick)
            figures["replay_small_trace"] = description
            figures["replay_small_ratio_vs_libcachesim"] = {name: f["ratio"] for name, f in small_figures.items()}
        if "mrc" in sections:
            say("one-pass LRU miss-ratio curve against replays ...")
            figures.update(bench_mrc(trace, quick))
        if "sweep" in sections:
            say("a sweep on one worker against all cores ...")
            figures.update(bench_sweep(quick))
        if "memory" in sections:
            say("peak memory of a long streamed replay ...")
            figures.update(bench_memory(work, quick))
    return figures


def report(figures: dict) -> str:
    """The figures as a table, each with its target and whether it is met."""
    lines = [
        f"kvsim bench{' --quick' if figures['quick'] else ''} on {figures['machine']['processor']}, "
        f"{figures['machine']['cores']} cores, Python {figures['machine']['python']}, {figures['engine']} engine",
        "",
    ]

    def line(name, value, target, text, higher=True):
        met = value >= target if higher else value <= target
        lines.append(f"  {name:<34} {value:>14,.2f}   {'ok  ' if met else 'MISS'}  {text}")

    for name, (target, text) in TARGETS.items():
        if name in figures:
            line(name, figures[name], target, text)
    if "des_models_agree" in figures:
        lines.append(f"  {'fast and naive agree (hits, p99)':<34} {str(figures['des_models_agree']):>14}")
    if "replay_peak_mb" in figures:
        line(
            "replay_peak_mb",
            figures["replay_peak_mb"],
            MEMORY_TARGET_MB,
            f"peak memory (MB) streaming {figures['replay_peak_requests']:,} requests, target <= {MEMORY_TARGET_MB:.0f}",
            higher=False,
        )
    ratios = figures.get("replay_ratio_vs_libcachesim")
    if ratios:
        lines += ["", f"  replay throughput / libcachesim's process_trace ({figures['replay_trace']}):"]
        for name, ratio in ratios.items():
            target = REPLAY_TARGET_FAST if name in FAST_POLICIES else REPLAY_TARGET_OTHERS
            detail = figures["replay_detail"][name]
            same = (
                "same miss ratio"
                if abs(detail["miss_ratio"] - detail["libcachesim_miss_ratio"]) < 1e-9
                else f"miss ratio {detail['miss_ratio']:.4f} vs {detail['libcachesim_miss_ratio']:.4f}"
            )
            lines.append(
                f"    {name:<10} {ratio:>6.2f}x   {'ok  ' if ratio >= target else 'MISS'}  target >= {target}x; {same}"
            )
        small = figures["replay_small_ratio_vs_libcachesim"]
        lines += [
            f"  and on {figures['replay_small_trace']}:",
            "    " + "  ".join(f"{name} {ratio:.2f}x" for name, ratio in small.items()),
        ]
    elif "replay_ratio_vs_libcachesim" in figures:
        lines.append("  replay: libcachesim is not installed (pip install 'kvsim[test]'); skipped")
    return "\n".join(lines)
