"""The `replay` and `policies` sections: our replay against libcachesim's process_trace, per policy.

    replay      the trace file streamed through each policy, as `kvsim replay`
                does, in process and reading included, capacity a tenth of the
                working set in bytes: on a long Zipf trace (written once and
                cached, see long_trace), the figures the targets are for, and
                on the shared small trace as a second line
    policies    each policy alone: the keys already in memory, capacity a tenth
                of the objects (libcachesim told to ignore sizes); a compiled
                policy gets the keys' dense ids, numbered in the timed part,
                as `kvsim replay` numbers them

Both are skipped when libcachesim is not installed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from experiments.analysis import replay
from experiments.analysis.replay import ReplayCounts, prepare_offline, replay_batches
from experiments.bench.common import Bench, Section, best_time
from experiments.output.outdir import atomic_write
from policies import available
from policies.compiled import engine_of, make_fast_policy
from workloads import Lognormal, Poisson, Workload, Zipf
from workloads.ids import DenseIds, dense_batches
from workloads.traces import open_trace, oracle_general_records

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
    "lruk": "LRUK",
    "mq": "MQ",
    "clock2qplus": "Clock2QPlus",
    "beladysize": "BeladySize",
    "lruprob": "LRUProb",
    "flashprob": "FlashProb",
    "hyperbolic": "Hyperbolic",
    "lecar": "LeCaR",
    "clockpro": "ClockPro",  # libcachesim's never evicts (policies/clockpro.py): speed only, misses differ
    "lru+bloomfilter": "LRU",  # an admission filter (ADMISSIONERS) in front of the policy
    "lru+adaptsize": "LRU",
    "lhd": "LHD",
    "glcache": "GLCache",  # learned: trains XGBoost every day of trace time, as libcachesim's
    "cacheus": "Cacheus",
    "threelcache": "ThreeLCache",
    "lrb": "LRB",  # learned: needs LightGBM (kvsim[learned]); skipped without it
}

#: our admission filter -> libcachesim's admissioner class, for a name "policy+filter" above
ADMISSIONERS = {"bloomfilter": "BloomFilterAdmissioner", "adaptsize": "AdaptSizeAdmissioner"}

#: the policies that draw random numbers: libcachesim draws others, so the misses agree in the mean, not exactly
RANDOMISED = ("random", "beladysize", "lruprob", "flashprob", "hyperbolic", "lecar", "lru+adaptsize", "lhd")
RANDOMISED += ("cacheus",)
RANDOMISED += ("lrb",)

#: the policies held to their paper where libcachesim's differs (policies/README.md): speed side by side, the
#: misses reported but not expected equal
NOT_LIBCACHESIMS = ("clockpro",)

#: our parameters for libcachesim's variant where our default differs (LFU-DA: the paper's aging by default)
LIBCACHESIM_PARAMS = {"lfuda": {"aging": "libcachesim"}}

#: the policies whose replay must be at least twice as fast as libcachesim's (the rest: as fast), on the long trace
FAST_POLICIES = ("lru", "fifo", "clock", "sieve", "s3fifo")
REPLAY_TARGET_FAST, REPLAY_TARGET_OTHERS = 2.0, 1.0
#: the learned policies (their time is mostly the model's), held to half of libcachesim's speed
LEARNED_POLICIES, REPLAY_TARGET_LEARNED = ("glcache", "threelcache", "lrb"), 0.5
#: the model library a learned policy needs (kvsim[learned]): without it, the policy is not benched
MODEL_LIBRARIES = {"glcache": "xgboost", "threelcache": "lightgbm", "lrb": "lightgbm"}
NOT_INSTALLED = "libcachesim is not installed (pip install 'kvsim[test]'); skipped"

#: the long trace: Zipf(0.9) over a million keys, lognormal sizes (median 4 KiB); --quick: a fifth of it
LONG_TRACE_KEYS, LONG_TRACE_REQUESTS, QUICK_TRACE_REQUESTS = 1_000_000, 5_000_000, 1_000_000

#: where the long trace is kept between runs (default: $XDG_CACHE_HOME/kvsim, or ~/.cache/kvsim)
CACHE_VARIABLE = "KVSIM_CACHE_DIR"


def benched(libcachesim, name: str) -> bool:
    """Do both sides have this entry of LIBCACHESIM_NAMES (a policy, or "policy+filter")?"""
    policy, _, admission = name.partition("+")
    return (
        policy in available()
        and hasattr(libcachesim, LIBCACHESIM_NAMES[name])
        and (not admission or hasattr(libcachesim, ADMISSIONERS[admission]))
        and (policy not in MODEL_LIBRARIES or importlib.util.find_spec(MODEL_LIBRARIES[policy]) is not None)
    )


def their_cache(libcachesim, name: str, capacity: int):
    """libcachesim's cache for an entry of LIBCACHESIM_NAMES, with its admissioner if the name has one."""
    _, _, admission = name.partition("+")
    admissioner = getattr(libcachesim, ADMISSIONERS[admission])() if admission else None
    return getattr(libcachesim, LIBCACHESIM_NAMES[name])(cache_size=capacity, admissioner=admissioner)


def our_policy(name: str, capacity: int):
    """Our compiled policy for an entry of LIBCACHESIM_NAMES, behind its filter if the name has one."""
    policy, _, admission = name.partition("+")
    params = {**LIBCACHESIM_PARAMS.get(policy, {}), **({"admission": admission} if admission else {})}
    return make_fast_policy(policy, capacity, **params)


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
        if not benched(libcachesim, name):
            continue

        def reference_cache(name=name):
            reader = libcachesim.TraceReader(trace=str(path), trace_type=libcachesim.TraceType.ORACLE_GENERAL_TRACE)
            return their_cache(libcachesim, name, capacity), reader

        repeat = 1 if quick else 2
        theirs_time, (their_miss_ratio, _) = best_time(
            lambda made: made[0].process_trace(made[1]), repeat, setup=reference_cache
        )
        ours_time, (ours, ran_by) = best_time(
            lambda policy: (our_replay(policy, path), engine_of(policy)),
            repeat,
            setup=lambda name=name: our_policy(name, capacity),
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


def measure_replay(bench: Bench) -> dict:
    long_path, long_description = long_trace(bench.quick, bench.say)
    bench.say(f"replay against libcachesim on {long_description} ...")
    figures = bench_replay(long_path, bench.quick)
    trace, description = bench.trace()
    bench.say(f"replay against libcachesim on {description} ...")
    small = bench_replay(trace, bench.quick)
    return {
        "replay_trace": long_description,
        "replay_ratio_vs_libcachesim": {name: f["ratio"] for name, f in figures.items()},
        "replay_detail": figures,
        "replay_small_trace": description,
        "replay_small_ratio_vs_libcachesim": {name: f["ratio"] for name, f in small.items()},
    }


def report_replay(figures: dict) -> list[str]:
    if "replay_ratio_vs_libcachesim" not in figures:
        return []
    agreement = {
        name: "same miss ratio"
        if abs(detail["miss_ratio"] - detail["libcachesim_miss_ratio"]) < 1e-9
        else f"miss ratio {detail['miss_ratio']:.4f} vs {detail['libcachesim_miss_ratio']:.4f}"
        for name, detail in figures["replay_detail"].items()
    }
    title = f"replay throughput / libcachesim's process_trace ({figures['replay_trace']})"
    lines = ratio_lines("replay", title, figures["replay_ratio_vs_libcachesim"], agreement)
    small = figures.get("replay_small_ratio_vs_libcachesim")
    if small:
        lines += [
            f"  and on {figures['replay_small_trace']}:",
            "    " + "  ".join(f"{name} {ratio:.2f}x" for name, ratio in small.items()),
        ]
    return lines


def ratio_lines(section: str, title: str, ratios: dict, agreement: dict) -> list[str]:
    """A table of per-policy speed ratios against libcachesim, each with its target and agreement."""
    if not ratios:
        return [f"  {section}: {NOT_INSTALLED}"]
    lines = ["", f"  {title}:"]
    for name, ratio in ratios.items():
        target = REPLAY_TARGET_FAST if name in FAST_POLICIES else REPLAY_TARGET_OTHERS
        target = REPLAY_TARGET_LEARNED if name in LEARNED_POLICIES else target
        met = "ok  " if ratio >= target else "MISS"
        lines.append(f"    {name:<10} {ratio:>6.2f}x   {met}  target >= {target}x; {agreement[name]}")
    return lines


# -- each policy alone: keys in memory, capacity in objects ---------------------------


def replay_in_memory(policy, keys: np.ndarray) -> ReplayCounts:
    """``replay`` of keys in memory, a compiled policy fed their dense ids as `kvsim replay` feeds them."""
    ids = DenseIds()(keys) if engine_of(policy) == "compiled" else None
    return replay(policy, keys, ids=ids)


def bench_policies(path: Path, quick: bool) -> dict:
    """Per policy: libcachesim's process_trace time / our ``replay`` of the keys in memory, and both misses.

    The capacity counts objects (a tenth of the trace's), so that no file is
    read on our side and sizes play no part on either: what is timed is the
    policy itself, where the `replay` section also times reading the trace.
    """
    try:
        import libcachesim
    except ImportError:
        return {}
    keys = open_trace(path, "oraclegeneral").keys()
    capacity = max(1, len(np.unique(keys)) // 10)
    sizes_ignored = libcachesim.ReaderInitParam(ignore_obj_size=True)
    figures = {}
    for name in LIBCACHESIM_NAMES:
        if not benched(libcachesim, name):
            continue

        def reference(name=name):
            reader = libcachesim.TraceReader(str(path), libcachesim.TraceType.ORACLE_GENERAL_TRACE, sizes_ignored)
            return their_cache(libcachesim, name, capacity), reader

        repeat = 1 if quick else 3
        theirs, (their_miss_ratio, _) = best_time(lambda made: made[0].process_trace(made[1]), repeat, reference)
        ours, counts = best_time(
            lambda policy: replay_in_memory(policy, keys),
            repeat,
            lambda n=name: our_policy(n, capacity),
        )
        figures[name] = {
            "ratio": theirs / ours,
            "ours_requests_per_s": len(keys) / ours,
            "libcachesim_requests_per_s": len(keys) / theirs,
            "misses": counts.misses,
            "libcachesim_misses": round(float(their_miss_ratio) * len(keys)),
        }
    return {"capacity": capacity, "detail": figures}


def measure_policies(bench: Bench) -> dict:
    trace, description = bench.trace()
    bench.say(f"each policy's replay of keys in memory against libcachesim on {description} ...")
    result = bench_policies(trace, bench.quick)
    figures = result.get("detail", {})
    return {
        "policies_trace": description,
        "policies_capacity_objects": result.get("capacity"),
        "policies_ratio_vs_libcachesim": {name: f["ratio"] for name, f in figures.items()},
        "policies_detail": figures,
    }


def report_policies(figures: dict) -> list[str]:
    if "policies_ratio_vs_libcachesim" not in figures:
        return []
    agreement = {
        name: f"{detail['ours_requests_per_s'] / 1e6:.2f} M requests/s; "
        + (
            "same misses"
            if detail["misses"] == detail["libcachesim_misses"]
            else f"misses {detail['misses']} vs {detail['libcachesim_misses']}"
        )
        for name, detail in figures["policies_detail"].items()
    }
    capacity = figures["policies_capacity_objects"] or 0
    title = f"each policy alone, keys in memory, {capacity:,} objects / libcachesim ({figures['policies_trace']})"
    return ratio_lines("policies", title, figures["policies_ratio_vs_libcachesim"], agreement)


REPLAY = Section("replay", measure_replay, report_replay)
POLICIES = Section("policies", measure_policies, report_policies)
