"""The `readers`, `streaming` and `memory` sections: what reading a trace costs.

readers     reader throughput per format, on a generated trace written in
            all three (and on libCacheSim's sample in all three when at hand)
streaming   replay streamed from the trace file in chunks against replay of
            the same keys already in memory (LRU)
memory      peak memory of streaming a long trace through a policy
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis import replay
from experiments.analysis.replay import replay_batches
from experiments.bench.common import (
    LIBCACHESIM_DATA,
    Bench,
    Section,
    best_time,
    peak_memory_mb,
    target_line,
    value_line,
)
from policies import make_policy
from workloads import Zipf
from workloads.rng import rng_for
from workloads.traces import open_trace, write_oracle_general

MEMORY_TARGET_MB = 300.0

#: the capacities (objects) of the streaming section: a small cache, and one that holds most traces whole
STREAMING_CAPACITIES = (1_000, 100_000)


def write_generated_traces(work: Path, requests: int) -> list[Path]:
    """One trace of uniform random keys, times and sizes, written as csv, txt and oracleGeneral."""
    rng = rng_for(1, "bench.readers")
    keys = rng.integers(0, 10**9, requests)
    times = np.sort(rng.integers(0, 10**6, requests))
    sizes = rng.integers(1, 65536, requests)
    csv = work / "generated.csv"  # libCacheSim's layout; "28" is a SCSI READ
    pd.DataFrame({"version": 1, "time": times, "op": "28", "size": sizes, "lbn": keys}).to_csv(csv, index=False)
    txt = work / "generated.txt"
    np.savetxt(txt, keys, fmt="%d")
    binary = write_oracle_general(work / "generated.oracleGeneral.bin", keys, times, sizes)
    return [csv, txt, binary]


def bench_readers(work: Path, quick: bool) -> dict:
    """Requests and megabytes per second of reading each trace whole, in chunks, by file name."""
    paths = write_generated_traces(work, 200_000 if quick else 2_000_000)
    paths += [LIBCACHESIM_DATA / f"cloudPhysicsIO.{ext}" for ext in ("csv", "txt", "oracleGeneral.bin")]
    detail = {}
    for path in filter(Path.exists, paths):
        seconds, requests = best_time(
            lambda path=path: sum(len(b) for b in open_trace(path).chunks()), 2 if quick else 3
        )
        detail[path.name] = {
            "requests": requests,
            "requests_per_s": requests / seconds,
            "mb_per_s": path.stat().st_size / 1e6 / seconds,
        }
    return {
        "readers_requests_per_s": {name: d["requests_per_s"] for name, d in detail.items()},
        "readers_detail": detail,
    }


def measure_readers(bench: Bench) -> dict:
    bench.say("reader throughput per trace format ...")
    return bench_readers(bench.work, bench.quick)


def report_readers(figures: dict) -> list[str]:
    if "readers_detail" not in figures:
        return []
    lines = ["", "  trace reading, whole file in chunks of 65,536:"]
    for name, d in figures["readers_detail"].items():
        lines.append(
            f"    {name:<34} {d['requests']:>10,} requests {d['requests_per_s'] / 1e6:>7.2f} M/s {d['mb_per_s']:>6.0f} MB/s"
        )
    return lines


# -- streamed replay against replay in memory ----------------------------------------


def bench_streaming(path: Path, quick: bool) -> dict:
    """Per capacity: the time of an LRU replay streamed from the file / of one over the keys in memory."""
    keys = open_trace(path, "oraclegeneral").keys()
    repeat = 2 if quick else 3
    ratios, agree = {}, True
    for capacity in STREAMING_CAPACITIES:
        in_memory, counts = best_time(
            lambda policy: replay(policy, keys), repeat, lambda c=capacity: make_policy("lru", c)
        )
        streamed, streamed_counts = best_time(
            lambda policy: replay_batches(policy, open_trace(path, "oraclegeneral").chunks()),
            repeat,
            lambda c=capacity: make_policy("lru", c),
        )
        ratios[str(capacity)] = streamed / in_memory
        agree = agree and counts.hits == streamed_counts.hits
    return {"streaming_ratio_vs_in_memory": ratios, "streaming_agrees": agree}


def measure_streaming(bench: Bench) -> dict:
    trace, description = bench.trace()
    bench.say(f"replay streamed from the file against replay in memory on {description} ...")
    return {"streaming_trace": description, **bench_streaming(trace, bench.quick)}


def report_streaming(figures: dict) -> list[str]:
    if "streaming_ratio_vs_in_memory" not in figures:
        return []
    lines = [
        value_line(f"streamed / in memory, LRU {capacity}", ratio, "time of a replay read from the file in chunks")
        for capacity, ratio in figures["streaming_ratio_vs_in_memory"].items()
    ]
    return [*lines, value_line("streamed and in memory agree (hits)", figures["streaming_agrees"])]


# -- memory of a long streamed replay --------------------------------------------------


def bench_memory(work: Path, quick: bool) -> dict:
    """Peak resident memory of a child process that streams a long trace through LRU, as `kvsim replay`."""
    n = 2_000_000 if quick else 10_000_000
    path = work / "long.oracleGeneral.bin"
    write_oracle_general(path, Zipf(1_000_000, 0.9).ranks(rng_for(7, "bench.memory"), n))
    code = (
        "import sys\n"
        "from experiments.bench.replay import our_replay\n"
        "from policies.compiled import make_fast_policy\n"
        "counts = our_replay(make_fast_policy('lru', 100_000), sys.argv[1])\n"
        "print(counts.requests)\n"
    )
    (requests,), peak_mb = peak_memory_mb(code, path)
    return {"replay_peak_mb": peak_mb, "replay_peak_requests": int(requests)}


def measure_memory(bench: Bench) -> dict:
    bench.say("peak memory of a long streamed replay ...")
    return bench_memory(bench.work, bench.quick)


def report_memory(figures: dict) -> list[str]:
    if "replay_peak_mb" not in figures:
        return []
    text = f"peak memory (MB) streaming {figures['replay_peak_requests']:,} requests, target <= {MEMORY_TARGET_MB:.0f}"
    return [target_line("replay_peak_mb", figures["replay_peak_mb"], MEMORY_TARGET_MB, text, higher=False)]


READERS = Section("readers", measure_readers, report_readers)
STREAMING = Section("streaming", measure_streaming, report_streaming)
MEMORY = Section("memory", measure_memory, report_memory)
