"""The `grid`, `compressed`, `miniature` and `trace_stats` sections: issue 23's speed and memory figures.

grid         kvsim replay's policy x size grid (LRU, S3-FIFO, ARC, W-TinyLFU at 0.1% to 30% of
             the footprint) on a zstd oracleGeneral trace, on 2 workers against one after
             another in one process (target <= 0.6 of the time), with each worker's CPU time:
             on a machine other work loads, the wall clock is what the cores had to give
compressed   reading a zstd oracleGeneral trace against the plain one
             (workloads.traces.measure.compressed_read_cost), and a replay of it with the
             reading included, the ratio the user sees (target <= 1.3)
miniature    miniature simulation at 1% (miniatures of at least 300 objects, as `kvsim mrc
             --sample`) against full replays at the same 10 sizes, for the four policies
             (target >= 30x faster, mean absolute miss-ratio error <= 0.01)
trace_stats  `kvsim trace stats` on the trace: seconds (target < 60 on 10,000,000 requests)
             and the peak memory of the process, against the distinct objects

The trace is a Zipf(0.9) stream over a million keys with lognormal sizes, as the
compressed read cost's (10,000,000 requests; 1,000,000 with --quick), written once.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from experiments.analysis.miniature import MIN_OBJECTS
from experiments.bench.common import Bench, Section, peak_memory_mb, target_line, value_line
from experiments.execute.executors import open_executor
from experiments.trace.grid import Grid, run_grid
from experiments.trace.inputs import TraceFile
from experiments.trace.mrc import CurveAsk, compute_curve
from experiments.trace.sizes import parse_sizes
from workloads.traces import open_trace, write_trace
from workloads.traces.measure import compressed_read_cost, zipf_columns

GRID_POLICIES = ("lru", "s3fifo", "arc", "wtinylfu")
GRID_SIZES = "0.1%,1%,5%,10%,30%"
GRID_TARGET, READ_TARGET, MINI_SPEED_TARGET, MINI_ERROR_TARGET, STATS_TARGET_S = 0.6, 1.3, 30.0, 0.01, 60.0


def _traces(bench: Bench) -> tuple[Path, Path, int]:
    """The plain and zstd traces of the sections, written once per run."""
    requests = 1_000_000 if bench.quick else 10_000_000
    plain = bench.work / f"zipf-{requests}.oracleGeneral"
    packed = bench.work / f"zipf-{requests}.oracleGeneral.zst"
    if not packed.exists():
        columns = zipf_columns(requests)
        write_trace(plain, *columns)
        write_trace(packed, *columns)
    return plain, packed, requests


def _timed(function) -> tuple[float, float, object]:
    start, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - start, time.process_time() - cpu, result


def measure_grid(bench: Bench) -> dict:
    _, packed, requests = _traces(bench)
    bench.say(f"the replay grid on {requests:,} zstd requests, 2 workers against 1 ...")
    grid = Grid((TraceFile(packed),), (packed.name,), GRID_POLICIES, tuple(parse_sizes(GRID_SIZES)))
    figures = {"grid_requests": requests, "grid_cells": len(GRID_POLICIES) * len(GRID_SIZES.split(","))}
    rows = {}
    for workers in (1, 2):
        with open_executor(workers) as executor:
            wall, _, outcome = _timed(lambda executor=executor: run_grid(grid, executor, executor.slots))
        figures[f"grid_{workers}_s"] = wall
        rows[workers] = outcome.rows
    figures["grid_ratio"] = figures["grid_2_s"] / figures["grid_1_s"]
    figures["grid_equal"] = rows[1] == rows[2]
    return figures


def report_grid(figures: dict) -> list[str]:
    if "grid_ratio" not in figures:
        return []
    text = (
        f"{figures['grid_cells']} cells on {figures['grid_requests']:,} zstd requests: "
        f"{figures['grid_2_s']:.1f} s on 2 workers, {figures['grid_1_s']:.1f} s on 1; target <= {GRID_TARGET}"
    )
    return [
        target_line("grid 2 workers / 1", figures["grid_ratio"], GRID_TARGET, text, higher=False),
        value_line("parallel grid equals sequential", figures["grid_equal"]),
    ]


def measure_compressed(bench: Bench) -> dict:
    plain, packed, requests = _traces(bench)
    bench.say("reading and replaying a zstd trace against the plain one ...")
    (bench.work / "read").mkdir(exist_ok=True)
    figures = {f"compressed_{k}": v for k, v in compressed_read_cost(bench.work / "read", requests, 2).items()}
    for name, path in (("plain", plain), ("zstd", packed)):
        grid = Grid((TraceFile(path),), (path.name,), ("lru",), tuple(parse_sizes("100000")))
        with open_executor(1) as executor:
            figures[f"compressed_replay_{name}_s"] = min(
                _timed(lambda grid=grid, executor=executor: run_grid(grid, executor, 1))[0] for _ in range(2)
            )
    figures["compressed_replay_ratio"] = figures["compressed_replay_zstd_s"] / figures["compressed_replay_plain_s"]
    return figures


def report_compressed(figures: dict) -> list[str]:
    if "compressed_replay_ratio" not in figures:
        return []
    text = "an LRU replay of the zstd trace, reading included, against the plain one; target <= 1.3"
    return [
        value_line("zstd read / plain read", figures["compressed_read_ratio"], "reading alone (decompression)"),
        value_line("zstd read CPU / plain", figures["compressed_read_cpu_ratio"], "the reading process's CPU"),
        value_line(
            "zstd decompression / plain read",
            figures["compressed_read_floor_ratio"],
            "CPU of decompressing alone (no request read): the least a zstd read can cost",
        ),
        target_line("zstd replay / plain replay", figures["compressed_replay_ratio"], READ_TARGET, text, higher=False),
    ]


def measure_miniature(bench: Bench) -> dict:
    plain, _, requests = _traces(bench)
    bench.say("miniature simulation at 1% against full replays ...")
    trace = open_trace(plain)
    capacities = np.unique(np.geomspace(10_000, 500_000, 10).astype(np.int64))
    figures = {}
    errors, full_s, mini_s = [], 0.0, 0.0
    for policy in GRID_POLICIES:
        full_wall, _, full = _timed(lambda p=policy: compute_curve(CurveAsk(p, capacities), trace, 1.0))
        if policy == "lru":  # the exact curve's one pass is not what a full replay costs: time the replays
            full_wall, _, _ = _timed(lambda: _replays("lru", trace, capacities))
        mini_wall, _, mini = _timed(
            lambda p=policy: compute_curve(
                CurveAsk(p, capacities, rate=0.01, mini=True, min_objects=MIN_OBJECTS), trace, 1.0
            )
        )
        error = float(np.abs(mini.miss_ratio - full.miss_ratio).mean())
        figures[f"miniature_{policy}_error"] = error
        errors.append(error)
        full_s, mini_s = full_s + full_wall, mini_s + mini_wall
    figures |= {"miniature_requests": requests, "miniature_full_s": full_s, "miniature_s": mini_s}
    figures |= {"miniature_speedup": full_s / mini_s, "miniature_error": max(errors)}
    return figures


def _replays(policy: str, trace, capacities):
    from experiments.trace.replay import replay_cells

    return replay_cells(trace, [(policy, int(c), False) for c in capacities], 0, 1.0)


def report_miniature(figures: dict) -> list[str]:
    if "miniature_speedup" not in figures:
        return []
    speed = f"full replays {figures['miniature_full_s']:.1f} s, miniature {figures['miniature_s']:.1f} s; target >= 30"
    errors = ", ".join(f"{p} {figures[f'miniature_{p}_error']:.4f}" for p in GRID_POLICIES)
    return [
        target_line("miniature speed-up at 1%", figures["miniature_speedup"], MINI_SPEED_TARGET, speed),
        target_line("miniature mean abs error", figures["miniature_error"], MINI_ERROR_TARGET, errors, higher=False),
    ]


def measure_stats(bench: Bench) -> dict:
    _, packed, requests = _traces(bench)
    bench.say("kvsim trace stats on the trace ...")
    code = (
        "import sys, time\n"
        "from workloads.traces import open_trace\n"
        "from experiments.trace.stats import trace_stats\n"
        "start = time.perf_counter()\n"
        "stats = trace_stats(open_trace(sys.argv[1]))\n"
        "print(time.perf_counter() - start, stats['objects'])\n"
    )
    (seconds, objects), peak = peak_memory_mb(code, packed)
    return {"stats_requests": requests, "stats_s": float(seconds), "stats_objects": int(objects), "stats_peak_mb": peak}


def report_stats(figures: dict) -> list[str]:
    if "stats_s" not in figures:
        return []
    text = f"{figures['stats_requests']:,} zstd requests, {figures['stats_objects']:,} objects; target < 60 s"
    per_object = figures["stats_peak_mb"] * 2**20 / max(1, figures["stats_objects"])
    return [
        target_line("trace stats seconds", figures["stats_s"], STATS_TARGET_S, text, higher=False),
        value_line("trace stats peak MB", figures["stats_peak_mb"], f"{per_object:,.0f} bytes per distinct object"),
    ]


GRID = Section("grid", measure_grid, report_grid)
COMPRESSED = Section("compressed", measure_compressed, report_compressed)
MINIATURE = Section("miniature", measure_miniature, report_miniature)
TRACE_STATS = Section("trace_stats", measure_stats, report_stats)
