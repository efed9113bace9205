"""The `replay` and `policies` sections: our replay against libcachesim's process_trace, per policy.

    replay      the trace file streamed through each policy, as `kvsim replay`
                does, capacity a tenth of the working set in bytes
    policies    each policy alone: the keys already in memory, capacity a tenth
                of the objects (libcachesim told to ignore sizes)

Both are skipped when libcachesim is not installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from experiments.bench.common import Bench, Section, best_time
from policies import available, make_policy, replay
from policies.replay import ReplayCounts, prepare_offline, replay_batches
from workloads.traces import open_trace

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

#: the policies that must replay at least as fast as libcachesim (the rest: at least half as fast)
FAST_POLICIES = ("lru", "fifo", "clock", "sieve")
REPLAY_TARGET_FAST, REPLAY_TARGET_OTHERS = 1.0, 0.5
NOT_INSTALLED = "libcachesim is not installed (pip install 'kvsim[test]'); skipped"


def our_replay(policy, path: Path) -> ReplayCounts:
    """Replay the trace file through `policy`, counting bytes, as `kvsim replay` does."""
    trace = open_trace(path, "oraclegeneral")
    prepare_offline([policy], trace.keys)
    return replay_batches(policy, trace.chunks(), count_bytes=True)


def bench_replay(path: Path, quick: bool) -> dict:
    """Per policy: libcachesim's process_trace time / ours, and both miss ratios."""
    try:
        import libcachesim
    except ImportError:
        return {}
    records = np.fromfile(path, dtype=[("time", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
    _, first = np.unique(records["id"], return_index=True)
    capacity = int(records["size"][first].sum() // 10)  # a tenth of the working set, in bytes
    figures = {}
    for name, class_name in LIBCACHESIM_NAMES.items():
        if name not in available() or not hasattr(libcachesim, class_name):
            continue

        def reference_cache(class_name=class_name):
            # Built outside the timing: libcachesim allocates its hash table (2**24 slots) up front.
            reader = libcachesim.TraceReader(trace=str(path), trace_type=libcachesim.TraceType.ORACLE_GENERAL_TRACE)
            return getattr(libcachesim, class_name)(cache_size=capacity), reader

        repeat = 2 if quick else 3
        theirs_time, (their_miss_ratio, _) = best_time(
            lambda made: made[0].process_trace(made[1]), repeat, setup=reference_cache
        )
        ours_time, ours = best_time(
            lambda policy: our_replay(policy, path), repeat, setup=lambda name=name: make_policy(name, capacity)
        )
        figures[name] = {
            "ratio": theirs_time / ours_time,
            "ours_s": ours_time,
            "libcachesim_s": theirs_time,
            "miss_ratio": ours.miss_ratio,
            "libcachesim_miss_ratio": float(their_miss_ratio),
        }
    return figures


def measure_replay(bench: Bench) -> dict:
    trace, description = bench.trace()
    bench.say(f"replay against libcachesim on {description} ...")
    figures = bench_replay(trace, bench.quick)
    return {
        "replay_trace": description,
        "replay_ratio_vs_libcachesim": {name: f["ratio"] for name, f in figures.items()},
        "replay_detail": figures,
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
    return ratio_lines("replay", title, figures["replay_ratio_vs_libcachesim"], agreement)


def ratio_lines(section: str, title: str, ratios: dict, agreement: dict) -> list[str]:
    """A table of per-policy speed ratios against libcachesim, each with its target and agreement."""
    if not ratios:
        return [f"  {section}: {NOT_INSTALLED}"]
    lines = ["", f"  {title}:"]
    for name, ratio in ratios.items():
        target = REPLAY_TARGET_FAST if name in FAST_POLICIES else REPLAY_TARGET_OTHERS
        met = "ok  " if ratio >= target else "MISS"
        lines.append(f"    {name:<10} {ratio:>6.2f}x   {met}  target >= {target}x; {agreement[name]}")
    return lines


# -- each policy alone: keys in memory, capacity in objects ---------------------------


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
    for name, class_name in LIBCACHESIM_NAMES.items():
        if name not in available() or not hasattr(libcachesim, class_name):
            continue

        def reference(class_name=class_name):
            reader = libcachesim.TraceReader(str(path), libcachesim.TraceType.ORACLE_GENERAL_TRACE, sizes_ignored)
            return getattr(libcachesim, class_name)(cache_size=capacity), reader

        repeat = 1 if quick else 3
        theirs, (their_miss_ratio, _) = best_time(lambda made: made[0].process_trace(made[1]), repeat, reference)
        ours, counts = best_time(lambda policy: replay(policy, keys), repeat, lambda n=name: make_policy(n, capacity))
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
