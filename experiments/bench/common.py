"""What every section of `kvsim bench` shares: the timer, the machine, the run's context, report lines."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workloads import Lognormal, Poisson, Workload, Zipf
from workloads.traces import write_oracle_general

#: the source tree (a child process's PYTHONPATH), and libCacheSim's sample traces beside it when at hand
REPO = Path(__file__).resolve().parents[2]
LIBCACHESIM_DATA = REPO.parent / "shared" / "libcachesim-data"


def best_time(function: Callable, repeat: int = 3, setup: Callable | None = None) -> tuple[float, object]:
    """The shortest wall time of `repeat` calls, and the last call's result.

    With `setup`, each call is ``function(setup())`` and only the call is timed.
    """
    best, result = float("inf"), None
    for _ in range(repeat):
        argument = setup() if setup else None
        start = time.perf_counter()
        result = function(argument) if setup else function()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_memory_mb(code: str, *args) -> tuple[list[str], float]:
    """Run `code` in a fresh Python process that imports this source tree: what it printed, and its peak MB.

    The peak is the child's own resident high-water mark (VmHWM, Linux):
    ru_maxrss would also count the parent's memory, which a forked child
    carries until it execs.
    """
    probe = "\nprint([line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0])\n"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-c", code + probe, *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    *printed, peak_kb = done.stdout.split()
    return printed, int(peak_kb) / 1024


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }


def bench_trace(work: Path, quick: bool) -> tuple[Path, str]:
    """The oracleGeneral trace to replay: libCacheSim's sample when it is at hand, else a Zipf one."""
    shared = LIBCACHESIM_DATA / "cloudPhysicsIO.oracleGeneral.bin"
    if shared.exists():
        return shared, "cloudPhysicsIO (libCacheSim's sample, 113,872 requests)"
    n = 200_000 if quick else 1_000_000
    workload = Workload(Zipf(100_000, 0.9), Poisson(1.0), Lognormal(4096, 1.0))
    keys = np.concatenate([b.key for b in workload.batches(1, n)])
    path = write_oracle_general(work / "zipf.oracleGeneral.bin", keys, sizes=workload.sizes_of(keys, 1))
    return path, f"generated Zipf(0.9) over 100,000 keys, {n:,} requests, lognormal sizes"


def quiet(text: str) -> None:
    """Say nothing (the progress line of a run that prints only its figures)."""


@dataclass
class Bench:
    """What a section gets: quick or full size, a scratch directory, a progress line, the shared trace.

    The trace the replay sections share is made when first asked for, unless given.
    """

    quick: bool
    work: Path
    say: Callable[[str], None] = quiet
    trace_path: Path | None = None
    trace_description: str = ""

    def trace(self) -> tuple[Path, str]:
        """The oracleGeneral trace of the replay sections, and what it is."""
        if self.trace_path is None:
            self.trace_path, self.trace_description = bench_trace(self.work, self.quick)
        return self.trace_path, self.trace_description


@dataclass(frozen=True)
class Section:
    """A part of the benchmark: `measure` returns its figures, `report` their lines (none if absent)."""

    name: str
    measure: Callable[[Bench], dict]
    report: Callable[[dict], list[str]]


def target_line(name: str, value: float, target: float, text: str, higher: bool = True) -> str:
    """A figure of the report, with whether it meets its target."""
    met = value >= target if higher else value <= target
    return f"  {name:<34} {value:>14,.2f}   {'ok  ' if met else 'MISS'}  {text}"


def value_line(name: str, value, text: str = "") -> str:
    """A figure of the report that has no target."""
    shown = f"{value:>14,.2f}" if isinstance(value, float) else f"{value!s:>14}"
    return f"  {name:<34} {shown}   {text}".rstrip()
