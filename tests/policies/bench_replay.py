"""Replay throughput of every policy against libcachesim's process_trace.

Not a test (pytest does not collect it): a measurement, run by hand from the
repository root:

    python tests/policies/bench_replay.py [--policies lru,arc] [--repeat 3]

On the shared CloudPhysics trace (113,872 requests), for a capacity counting
objects and one counting bytes, it prints requests per second for our
``replay`` and for libcachesim's ``process_trace`` (best of `repeat` runs
each; the cache is built outside the timed part for both), their ratio, and
whether the miss counts agree.  The machine is shared, so the two sides are
timed alternately in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from policies import make_policy, replay  # noqa: E402
from tests.policies.tracedata import CLOUDPHYSICS, cloudphysics  # noqa: E402

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
    "belady": "Belady",
    "wtinylfu": "WTinyLFU",
    "lfuda": "LFUDA",
    "gdsf": "GDSF",
    "random": "Random",
}
TARGET = {"lru": 1.0, "fifo": 1.0, "clock": 1.0, "sieve": 1.0}  # the rest: 0.5


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", default=",".join(LIBCACHESIM_NAMES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--objects", type=int, default=5000, help="capacity in objects")
    parser.add_argument("--bytes", type=int, default=200_000_000, help="capacity in bytes")
    args = parser.parse_args(argv)

    import libcachesim as lcs

    trace = cloudphysics()
    if trace is None:
        sys.exit(f"no trace at {CLOUDPHYSICS}")
    keys, sizes = trace
    n = len(keys)
    print(f"{'policy':9} {'capacity':>12} {'ours req/s':>11} {'lcs req/s':>11} {'ratio':>6} {'target':>6}  misses")
    for name in args.policies.split(","):
        for capacity, count_bytes in ((args.objects, False), (args.bytes, True)):
            reader = lcs.TraceReader(
                str(CLOUDPHYSICS),
                lcs.TraceType.ORACLE_GENERAL_TRACE,
                lcs.ReaderInitParam(ignore_obj_size=not count_bytes),
            )
            ours_best = theirs_best = float("inf")
            for _ in range(args.repeat):
                policy = make_policy(name, capacity)
                start = time.perf_counter()
                counts = replay(policy, keys, sizes, count_bytes=count_bytes)
                ours_best = min(ours_best, time.perf_counter() - start)
                cache = getattr(lcs, LIBCACHESIM_NAMES[name])(capacity)
                start = time.perf_counter()
                miss_ratio, _ = cache.process_trace(reader)
                theirs_best = min(theirs_best, time.perf_counter() - start)
            ratio = theirs_best / ours_best
            target = TARGET.get(name, 0.5)
            agree = "equal" if counts.misses == round(miss_ratio * n) else f"{counts.misses} vs {round(miss_ratio * n)}"
            unit = "B" if count_bytes else ""
            print(
                f"{name:9} {capacity:>11}{unit:1} {n / ours_best:>11,.0f} {n / theirs_best:>11,.0f} "
                f"{ratio:>5.2f}x {target:>5.1f}x  {agree}{'' if ratio >= target else '  BELOW TARGET'}",
                flush=True,
            )


if __name__ == "__main__":
    main()
