"""Measure how experiments scale; a script, not a test (it takes minutes).

    python -m tests.experiments.measure_scale [--repeat N] [--configs]

Prints, as a user would see them from the command line (`kvsim run` in a
fresh --out each time, wall-clock time including start-up and figures):

* the quickstart with --workers 1 and --workers 2, and the speed-up;
* the quickstart on a Dask scheduler with two one-thread workers on this
  machine, against the local pool of two processes: the Dask overhead
  (the cluster's own start-up is reported apart, it is paid once);
* with --configs, every shipped experiment's wall time on all cores.

The median of --repeat runs is reported: other work on a shared machine
makes single timings noisy.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from experiments import configs as shipped
from tests.experiments.conftest import kvsim_command, kvsim_env
from tests.experiments.dask_cluster import local_dask_cluster


def wall_time(*args) -> float:
    """Seconds for one `kvsim run ... --out <fresh dir>` to finish."""
    with tempfile.TemporaryDirectory(prefix="kvsim-measure-") as scratch:
        start = time.perf_counter()
        subprocess.run(kvsim_command("run", *args, "--out", Path(scratch) / "out"), env=kvsim_env(),
                       check=True, capture_output=True)
        return time.perf_counter() - start


def median_time(repeat: int, *args) -> float:
    return statistics.median(wall_time(*args) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the median is reported)")
    parser.add_argument("--configs", action="store_true", help="also time every shipped experiment")
    args = parser.parse_args()

    one = median_time(args.repeat, "quickstart", "--workers", "1")
    two = median_time(args.repeat, "quickstart", "--workers", "2")
    print(f"quickstart, --workers 1: {one:6.2f} s")
    print(f"quickstart, --workers 2: {two:6.2f} s   speed-up {one / two:.2f}x")

    start = time.perf_counter()
    with local_dask_cluster(workers=2, threads=1) as address:
        started = time.perf_counter() - start
        dask = median_time(args.repeat, "quickstart", "--scheduler", address)
    print(f"quickstart, Dask (2 workers x 1 thread): {dask:6.2f} s   overhead vs --workers 2: "
          f"{dask - two:+.2f} s ({(dask / two - 1) * 100:+.0f}%); the cluster took {started:.1f} s to start")

    if args.configs:
        for name in shipped.names():
            print(f"{name:<16} {median_time(1, name):6.2f} s on all cores")


if __name__ == "__main__":
    main()
