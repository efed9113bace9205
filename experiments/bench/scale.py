"""The `sweep`, `dask` and `configs` sections: whole experiments, on one core, on all, on Dask.

    sweep       a sweep on one worker against all cores
    dask        the quickstart on a Dask cluster of two one-thread workers on
                this machine against the local pool of two processes
    configs     every shipped experiment's wall time on all cores

experiments.execute.runner (and with it matplotlib) is imported when a section runs,
not with the bench: `kvsim` builds its command line from the section names.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from experiments import configs as shipped
from experiments.bench.common import Bench, Section, best_time, machine, target_line, value_line
from experiments.config import resolve
from experiments.config.sweep import points

SWEEP_TARGET = (1.8, "sweep speed-up >= 1.8x on 2 workers")

#: the shipped experiments at a size for --quick: every point, one seed, few requests, no figures
QUICK_SIZE = {"run.requests": 2_000, "run.warmup": 500, "run.seeds": [1]}


def bench_sweep(quick: bool) -> dict:
    """Wall time of the same sweep with --workers 1 and with one worker per core."""
    from experiments.execute.runner import run_experiment

    cores = machine()["cores"]
    # Enough runs of a fair length that start-up and the last straggler weigh little: at the compiled
    # loop's speed (several million requests a second) a run needs millions of requests to last a second.
    experiment = resolve(
        "quickstart",
        {
            "run.requests": 500_000 if quick else 10_000_000,
            "run.warmup": 20_000,
            "run.seeds": [1, 2] if quick else [1, 2, 3, 4],
        },
    )
    with tempfile.TemporaryDirectory(prefix="kvsim-bench-") as scratch:
        one, _ = best_time(
            lambda: run_experiment(experiment, Path(scratch) / "one", workers=1, progress=False, figures=False), 1
        )
        many, _ = best_time(
            lambda: run_experiment(experiment, Path(scratch) / "many", workers=cores, progress=False, figures=False), 1
        )
    return {"sweep_speedup": one / many, "sweep_workers": cores, "sweep_runs": len(points(experiment))}


def measure_sweep(bench: Bench) -> dict:
    bench.say("a sweep on one worker against all cores ...")
    return bench_sweep(bench.quick)


def report_sweep(figures: dict) -> list[str]:
    return [target_line("sweep_speedup", figures["sweep_speedup"], *SWEEP_TARGET)] if "sweep_speedup" in figures else []


def wall_time(experiment, out: Path, figures: bool = False, **executor) -> float:
    """Seconds to run `experiment` into the fresh directory `out` on `executor` (workers= or scheduler=)."""
    from experiments.execute.runner import run_experiment

    start = time.perf_counter()
    run_experiment(experiment, out, progress=False, figures=figures, **executor)
    return time.perf_counter() - start


# -- Dask against the local pool -----------------------------------------------------


def bench_dask(quick: bool) -> dict:
    """Wall time of the quickstart on two local processes and on two Dask workers; {} without Dask.

    The variants alternate (best of three, or one each with `quick`), so that
    other work on the machine weighs on both alike.  The cluster's own
    start-up is timed apart: it is paid once, not per experiment.  On Linux,
    measure on an idle machine: with scheduler autogroups, the workers (in
    sessions of their own) can get a core that the local pool, sharing this
    session's share with whatever else it runs, cannot.
    """
    try:
        import distributed  # noqa: F401
    except ImportError:
        return {}
    from experiments.execute.dask_cluster import local_dask_cluster

    # The client logs every connection it closes; the figures say what matters.
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    experiment = resolve(
        "quickstart", {"run.requests": 20_000, "run.warmup": 5_000, "run.seeds": [1, 2]} if quick else {}
    )
    workers = 2
    start = time.perf_counter()
    with local_dask_cluster(workers=workers, threads=1) as address, tempfile.TemporaryDirectory() as scratch:
        cluster_start = time.perf_counter() - start
        local = on_dask = float("inf")
        for attempt in range(1 if quick else 3):
            local = min(local, wall_time(experiment, Path(scratch) / f"local{attempt}", workers=workers))
            on_dask = min(on_dask, wall_time(experiment, Path(scratch) / f"dask{attempt}", scheduler=address))
    return {
        "dask_s": on_dask,
        "dask_local_s": local,
        "dask_overhead_s": on_dask - local,
        "dask_ratio_vs_local": on_dask / local,
        "dask_cluster_start_s": cluster_start,
        "dask_workers": workers,
        "dask_runs": len(points(experiment)),
    }


def measure_dask(bench: Bench) -> dict:
    bench.say("the quickstart on a local Dask cluster against the local pool ...")
    return bench_dask(bench.quick) or {"dask_s": None}


def report_dask(figures: dict) -> list[str]:
    if "dask_s" not in figures:
        return []
    if figures["dask_s"] is None:
        return ["  dask: dask[distributed] is not installed (pip install 'kvsim[dask]'); skipped"]
    runs = f"{figures['dask_runs']} runs on {figures['dask_workers']} workers"
    return [
        value_line("dask_s", figures["dask_s"], f"seconds for the quickstart ({runs}) on Dask"),
        value_line("dask_local_s", figures["dask_local_s"], "the same on the local pool"),
        value_line("dask_overhead_s", figures["dask_overhead_s"], "what Dask adds (seconds)"),
        value_line("dask_cluster_start_s", figures["dask_cluster_start_s"], "starting the cluster (paid once)"),
    ]


# -- every shipped experiment ----------------------------------------------------------


def bench_configs(quick: bool) -> dict:
    """Seconds of each shipped experiment on all cores, figures drawn; if quick, at QUICK_SIZE and without."""
    cores = machine()["cores"]
    size = ", ".join(f"{key} = {value}" for key, value in QUICK_SIZE.items())
    with tempfile.TemporaryDirectory() as scratch:
        seconds = {
            name: wall_time(
                resolve(name, QUICK_SIZE if quick else {}), Path(scratch) / name, workers=cores, figures=not quick
            )
            for name in shipped.names()
        }
    return {"configs_seconds": seconds, "configs_size": f"reduced: {size}" if quick else "as shipped, figures drawn"}


def measure_configs(bench: Bench) -> dict:
    bench.say("every shipped experiment on all cores ...")
    return bench_configs(bench.quick)


def report_configs(figures: dict) -> list[str]:
    if "configs_seconds" not in figures:
        return []
    lines = ["", f"  shipped experiments on all cores ({figures['configs_size']}):"]
    return lines + [f"    {name:<16} {seconds:>8.2f} s" for name, seconds in figures["configs_seconds"].items()]


SWEEP = Section("sweep", measure_sweep, report_sweep)
DASK = Section("dask", measure_dask, report_dask)
CONFIGS = Section("configs", measure_configs, report_configs)
