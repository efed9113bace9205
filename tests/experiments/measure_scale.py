"""Measure how experiments scale; a script, not a test (it takes minutes).

    python -m tests.experiments.measure_scale [--repeat N] [--configs]

Prints, as a user would see them from the command line (`kvsim run` in a
fresh --out each time, wall-clock time including start-up and figures):

* the quickstart with --workers 1 and --workers 2, and the speed-up;
* the quickstart on a Dask scheduler with two one-thread workers on this
  machine, against the local pool of two processes: the Dask overhead
  (the cluster's own start-up is reported apart, it is paid once);
* with --configs, every shipped experiment's wall time on all cores.

The median of --repeat runs is reported, the variants interleaved: other
work on a shared machine makes single timings noisy.  Measure on an idle
machine: with Linux's scheduler autogroups (/proc/sys/kernel/sched_autogroup_enabled)
all processes of one session share one fair share of the CPU, so while
another session's job runs, the local pool (in this session) cannot get a
second core, while the Dask workers (started in sessions of their own) can;
both speed-up and overhead then measure the contention, not kvsim.
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
        subprocess.run(
            kvsim_command("run", *args, "--out", Path(scratch) / "out"),
            env=kvsim_env(),
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the median is reported)")
    parser.add_argument("--configs", action="store_true", help="also time every shipped experiment")
    args = parser.parse_args()

    variants = {"--workers 1": ["--workers", "1"], "--workers 2": ["--workers", "2"], "Dask": None}
    times = {name: [] for name in variants}
    start = time.perf_counter()
    with local_dask_cluster(workers=2, threads=1) as address:
        started = time.perf_counter() - start
        variants["Dask"] = ["--scheduler", address]
        # Interleaved, so that other work on the machine weighs on every variant alike.
        for _ in range(args.repeat):
            for name, options in variants.items():
                times[name].append(wall_time("quickstart", *options))
    one, two, dask = (statistics.median(times[name]) for name in variants)
    print(f"quickstart, --workers 1: {one:6.2f} s")
    print(f"quickstart, --workers 2: {two:6.2f} s   speed-up {one / two:.2f}x")
    print(
        f"quickstart, Dask (2 workers x 1 thread): {dask:6.2f} s   overhead vs --workers 2: "
        f"{dask - two:+.2f} s ({(dask / two - 1) * 100:+.0f}%); the cluster took {started:.1f} s to start"
    )
    if args.configs:
        for name in shipped.names():
            print(f"{name:<16} {wall_time(name):6.2f} s on all cores")


if __name__ == "__main__":
    main()
