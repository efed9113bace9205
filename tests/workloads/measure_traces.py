"""Benchmarks of trace reading, streaming replay, and miss-ratio curves.

    python -m tests.workloads.measure_traces [--quick]

Prints four tables (times are the best of a few runs, on this machine):

1. reader throughput per format (requests/s), on libCacheSim's
   cloudPhysicsIO trace when ../shared/libcachesim-data is there, and on a
   generated trace of 2,000,000 requests written in all three formats;
2. streaming replay (trace file -> chunks -> Replayer) against replay() of
   the same keys already in memory;
3. the one-pass LRU curve over 100 capacities against 100 replays;
4. SHARDS' mean absolute error against the exact curve on Zipf traces,
   over several seeds.

Nothing here is a test: the suite checks correctness, this measures speed
and error.  --quick runs smaller versions of each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from policies import make_policy, replay  # noqa: E402
from policies.mrc import lru_mrc  # noqa: E402
from policies.replay import replay_batches  # noqa: E402
from tests.trace_files import LIBCACHESIM_DATA, write_bin, write_csv, write_txt, zipf_keys  # noqa: E402
from workloads.traces import open_trace  # noqa: E402


def best(function, repeat=3):
    """The fastest of `repeat` runs, in seconds, and the last result."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def read_everything(path, fmt=None):
    return sum(len(batch) for batch in open_trace(path, fmt).chunks())


def readers(work: Path, n: int) -> None:
    print("\n1. Reader throughput (chunks of 65536; best of 3)")
    print(f"{'trace':<40} {'requests':>10} {'seconds':>8} {'Mreq/s':>7} {'MB/s':>6}")
    paths = []
    if LIBCACHESIM_DATA.is_dir():
        paths += [LIBCACHESIM_DATA / f"cloudPhysicsIO.{ext}" for ext in ("csv", "txt", "oracleGeneral.bin")]
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 10**9, n)
    times = np.sort(rng.integers(0, 10**6, n))
    sizes = rng.integers(1, 65536, n)
    paths += [
        write_csv(work / "generated.csv", keys, times, sizes),
        write_txt(work / "generated.txt", keys),
        write_bin(work / "generated.bin", keys, times, sizes),
    ]
    for path in paths:
        seconds, count = best(lambda: read_everything(path))
        megabytes = path.stat().st_size / 1e6
        print(f"{path.name:<40} {count:>10} {seconds:>8.3f} {count / seconds / 1e6:>7.2f} {megabytes / seconds:>6.0f}")


def streaming(work: Path, n: int) -> None:
    print("\n2. Streaming replay (read + replay in chunks) against replay() of keys in memory; LRU")
    print(f"{'trace':<40} {'capacity':>9} {'in memory s':>12} {'streamed s':>11} {'ratio':>6}")
    cases = []
    if LIBCACHESIM_DATA.is_dir():
        cases.append(LIBCACHESIM_DATA / "cloudPhysicsIO.oracleGeneral.bin")
    cases.append(write_bin(work / "zipf.bin", zipf_keys(n, keys=n // 10, alpha=0.8, seed=3)))
    for path in cases:
        keys = open_trace(path).keys()
        for capacity in (1000, 100_000):
            memory, counts = best(lambda: replay(make_policy("lru", capacity), keys))
            streamed, stream_counts = best(
                lambda: replay_batches(make_policy("lru", capacity), open_trace(path).chunks())
            )
            assert counts.hits == stream_counts.hits
            print(f"{path.name:<40} {capacity:>9} {memory:>12.3f} {streamed:>11.3f} {streamed / memory:>6.2f}")


def curves(n: int) -> None:
    print("\n3. LRU miss-ratio curve over 100 capacities: one pass against 100 replays")
    print(f"{'trace':<40} {'requests':>9} {'one pass s':>11} {'100 replays s':>14} {'speed-up':>9}")
    cases = []
    if LIBCACHESIM_DATA.is_dir():
        cases.append(("cloudPhysicsIO", open_trace(LIBCACHESIM_DATA / "cloudPhysicsIO.oracleGeneral.bin").keys()))
    cases.append((f"zipf(0.8) {n // 10} keys", zipf_keys(n, keys=n // 10, alpha=0.8, seed=4)))
    for name, keys in cases:
        distinct = len(np.unique(keys))
        capacities = np.unique(np.rint(np.geomspace(10, distinct, 100)).astype(np.int64))
        one_pass, curve = best(lambda: lru_mrc(keys, capacities))
        started = time.perf_counter()
        for capacity, misses in zip(capacities, curve.misses):
            assert replay(make_policy("lru", int(capacity)), keys).misses == misses
        replays = time.perf_counter() - started
        print(
            f"{name:<40} {len(keys):>9} {one_pass:>11.3f} {replays:>14.2f} {replays / one_pass:>8.0f}x"
            f"  ({len(capacities)} capacities, all equal to the miss)"
        )


def shards(n: int, seeds: int) -> None:
    keys_in_catalogue = n // 10
    print(
        f"\n4. SHARDS mean absolute error against the exact curve: Zipf(0.8), {n} requests over "
        f"{keys_in_catalogue} keys, 30 capacities log-spaced over 1%..100% of the keys, {seeds} seeds"
    )
    print(f"{'sampling':<22} {'adjusted':>8} {'mean MAE':>9} {'worst MAE':>10} {'worst max err':>14} {'seconds':>8}")
    capacities = np.unique(np.geomspace(keys_in_catalogue / 100, keys_in_catalogue, 30).astype(int))
    traces = [zipf_keys(n, keys=keys_in_catalogue, alpha=0.8, seed=seed) for seed in range(1, seeds + 1)]
    exact = [lru_mrc(keys, capacities) for keys in traces]
    settings = [
        ("rate 0.1", {"rate": 0.1}),
        ("rate 0.01", {"rate": 0.01}),
        (f"size {keys_in_catalogue // 10} keys", {"max_keys": keys_in_catalogue // 10}),
        (f"size {keys_in_catalogue // 30} keys", {"max_keys": keys_in_catalogue // 30}),
    ]
    for label, options in settings:
        for adjust in (True, False):
            errors, worst, seconds = [], 0.0, 0.0
            for keys, truth in zip(traces, exact):
                started = time.perf_counter()
                sampled = lru_mrc(keys, capacities, adjust=adjust, **options)
                seconds += time.perf_counter() - started
                difference = np.abs(sampled.miss_ratio - truth.miss_ratio)
                errors.append(difference.mean())
                worst = max(worst, difference.max())
            print(
                f"{label:<22} {str(adjust):>8} {np.mean(errors):>9.4f} {np.max(errors):>10.4f} {worst:>14.4f} "
                f"{seconds / len(traces):>8.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller traces and fewer seeds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        readers(work, 200_000 if args.quick else 2_000_000)
        streaming(work, 100_000 if args.quick else 1_000_000)
    curves(50_000 if args.quick else 300_000)
    shards(300_000, 3 if args.quick else 12)


if __name__ == "__main__":
    main()
