"""The `mrc` and `shards` sections: miss-ratio curves, exact in one pass, and sampled.

mrc         the one-pass LRU miss-ratio curve against per-capacity replays
shards      SHARDS' error against the exact curve, by sampling setting
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from experiments.analysis.mrc import lru_mrc
from experiments.analysis.replay import replay_batches
from experiments.bench.common import Bench, Section, best_time, target_line
from policies import make_policy
from workloads import Poisson, Workload, Zipf
from workloads.traces import open_trace

MRC_TARGET = (20.0, "one-pass LRU curve >= 20x 100 replays")


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


def measure_mrc(bench: Bench) -> dict:
    bench.say("one-pass LRU miss-ratio curve against replays ...")
    return bench_mrc(bench.trace()[0], bench.quick)


def report_mrc(figures: dict) -> list[str]:
    return (
        [target_line("mrc_ratio_vs_replays", figures["mrc_ratio_vs_replays"], *MRC_TARGET)]
        if "mrc_ratio_vs_replays" in figures
        else []
    )


# -- SHARDS against the exact curve ----------------------------------------------------

#: requests and catalogue size (keys) of the Zipf(0.8) traces SHARDS is measured on
SHARDS_REQUESTS, SHARDS_KEYS = 300_000, 30_000

#: sampling setting -> lru_mrc's options: two fixed rates, two fixed sizes (at most so many keys)
SHARDS_SETTINGS = {
    "rate 0.1": {"rate": 0.1},
    "rate 0.01": {"rate": 0.01},
    f"size {SHARDS_KEYS // 10} keys": {"max_keys": SHARDS_KEYS // 10},
    f"size {SHARDS_KEYS // 30} keys": {"max_keys": SHARDS_KEYS // 30},
}


def zipf_keys(requests: int, keys: int, alpha: float, seed: int) -> np.ndarray:
    """`requests` keys of a Zipf(`alpha`) law over `keys` scrambled ids, drawn from `seed`."""
    return np.concatenate([b.key for b in Workload(Zipf(keys, alpha), Poisson(1.0)).batches(seed, requests)])


def bench_shards(quick: bool) -> dict:
    """SHARDS' mean absolute error in miss ratio against the exact LRU curve, over seeds.

    30 capacities log-spaced over 1%..100% of the keys; each setting with the
    SHARDS_adj estimate (adjusted) and without.  Per setting: the mean over
    seeds of the mean absolute error, the worst seed's, the largest error at
    any capacity, and the seconds per curve.
    """
    seeds = range(1, (3 if quick else 12) + 1)
    capacities = np.unique(np.geomspace(SHARDS_KEYS / 100, SHARDS_KEYS, 30).astype(np.int64))
    traces = [zipf_keys(SHARDS_REQUESTS, SHARDS_KEYS, 0.8, seed) for seed in seeds]
    exact = [lru_mrc(keys, capacities).miss_ratio for keys in traces]
    detail = {}
    for label, options in SHARDS_SETTINGS.items():
        for adjust in (True, False):
            errors, seconds = [], 0.0
            for keys, truth in zip(traces, exact):
                start = time.perf_counter()
                sampled = lru_mrc(keys, capacities, adjust=adjust, **options)
                seconds += time.perf_counter() - start
                errors.append(np.abs(sampled.miss_ratio - truth))
            detail[label if adjust else f"{label}, unadjusted"] = {
                "mean_abs_error": float(np.mean([e.mean() for e in errors])),
                "worst_seed_mean_abs_error": float(max(e.mean() for e in errors)),
                "max_error": float(max(e.max() for e in errors)),
                "seconds": seconds / len(traces),
            }
    return {
        "shards_trace": f"Zipf(0.8), {SHARDS_REQUESTS:,} requests over {SHARDS_KEYS:,} keys, {len(traces)} seeds",
        "shards_mean_abs_error": {label: d["mean_abs_error"] for label, d in detail.items()},
        "shards_detail": detail,
    }


def measure_shards(bench: Bench) -> dict:
    bench.say("SHARDS' error against the exact LRU curve ...")
    return bench_shards(bench.quick)


def report_shards(figures: dict) -> list[str]:
    if "shards_detail" not in figures:
        return []
    lines = ["", f"  SHARDS miss-ratio error against the exact LRU curve ({figures['shards_trace']}):"]
    lines.append(f"    {'sampling':<28} {'mean':>7} {'worst seed':>10} {'max':>7} {'s/curve':>8}")
    for label, d in figures["shards_detail"].items():
        lines.append(
            f"    {label:<28} {d['mean_abs_error']:>7.4f} {d['worst_seed_mean_abs_error']:>10.4f} "
            f"{d['max_error']:>7.4f} {d['seconds']:>8.3f}"
        )
    return lines


MRC = Section("mrc", measure_mrc, report_mrc)
SHARDS = Section("shards", measure_shards, report_shards)
