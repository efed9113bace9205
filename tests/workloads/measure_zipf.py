"""Speed and memory of Zipf key drawing, against the inverse-CDF table it replaced.

    python -m tests.workloads.measure_zipf [--quick]

Prints two tables (times are the best of a few runs, on this machine):

1. ranks per batch of 65,536: rejection-inversion (Zipf.ranks) against
   inverse CDF by binary search in a table of N cumulative probabilities
   (np.searchsorted, the sampler before it), for N = 1e5 and 1e6;
2. Workload.batches (what the timed model draws through: arrivals, ranks,
   the Feistel scramble, sizes) in requests/s, and the peak memory numpy
   allocates for it (tracemalloc), for catalogues of 1e5 .. 1e12 keys.

Nothing here is a test: the suite checks correctness, this measures speed
and memory.  --quick runs fewer repetitions.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from workloads import Poisson, Workload, Zipf, rng_for  # noqa: E402

BATCH = 65_536
ALPHAS = (0.5, 0.9, 1.0, 1.2)


def best(function, repeat):
    """The fastest of `repeat` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def inverse_cdf_table(keys: int, alpha: float) -> np.ndarray:
    """The baseline's table: cumulative probabilities of ranks 1..keys (8 bytes a key)."""
    cdf = np.cumsum(np.arange(1, keys + 1, dtype=np.float64) ** -alpha)
    return cdf / cdf[-1]


def sampler_table(repeat: int) -> None:
    print(f"1. ranks per batch of {BATCH:,} (ms): rejection-inversion vs inverse-CDF table")
    print(f"{'N':>9} {'alpha':>5} {'rejection-inv':>14} {'searchsorted':>13} {'ratio':>6}")
    for keys in (10**5, 10**6):
        for alpha in ALPHAS:
            zipf, table, rng = Zipf(keys, alpha), inverse_cdf_table(keys, alpha), rng_for(1, "measure")
            new = best(lambda: zipf.ranks(rng, BATCH), repeat)
            old = best(lambda: np.searchsorted(table, rng.random(BATCH), side="right"), repeat)
            print(f"{keys:>9.0e} {alpha:>5} {new * 1e3:>14.2f} {old * 1e3:>13.2f} {old / new:>5.1f}x")


def stream_table(repeat: int, requests: int) -> None:
    print(f"\n2. Workload.batches, Zipf(0.9), {requests:,} requests in batches of {BATCH:,}")
    print(f"{'N':>9} {'requests/s':>12} {'peak MB':>8}")
    for keys in (10**5, 10**6, 10**9, 10**12):
        workload = Workload(Zipf(keys, 0.9), Poisson(1.0))
        seconds = best(lambda: sum(len(b) for b in workload.batches(1, requests)), repeat)
        tracemalloc.start()
        sum(len(b) for b in workload.batches(1, requests))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{keys:>9.0e} {requests / seconds:>12,.0f} {peak / 1e6:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    quick = parser.parse_args().quick
    sampler_table(repeat=3 if quick else 9)
    stream_table(repeat=1 if quick else 3, requests=4 * BATCH if quick else 16 * BATCH)


if __name__ == "__main__":
    main()
