"""An experiment from config to files: the body of `kvsim run` and `experiments.run`.

DIR/manifest.json   what was run: resolved config, sweep, seeds, versions, the request loop (engine)
DIR/runs/*.json     one file per finished run (what resume reads)
DIR/results.csv     one row per run;  DIR/summary.csv  one row per point
DIR/nodes.csv       one row per run and node
DIR/latency.csv     each run's latency quantiles (its CDF), and its point's over all seeds
DIR/timeseries.csv  one row per run and interval of simulated time (about 50 per run by default)
DIR/fleet.csv       one row per run and change of the fleet (nodes added, removed, down, up, resized)
DIR/restarts.csv    one row per run and rolling restart
DIR/*.png, *.svg    the figures experiments/plots plans for what was swept
"""

from __future__ import annotations

import json
import platform
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from experiments.config import ConfigError, Experiment
from experiments.config.sweep import Point, fingerprint, points
from experiments.execute.executors import is_terminal, open_executor
from experiments.execute.runs import Saved, execute, saved_runs
from experiments.output import outdir
from experiments.output.outdir import atomic_write, claim
from experiments.output.tables import (
    fleet_table,
    latency_table,
    nodes_table,
    restarts_table,
    results_table,
    summary_table,
    timeseries_table,
)

#: the tables of DIR (replaced by --force)
TABLES = (
    "results.csv",
    "summary.csv",
    "nodes.csv",
    "latency.csv",
    "timeseries.csv",
    "fleet.csv",
    "restarts.csv",
)


def versions() -> dict:
    found = {"python": platform.python_version()}
    for package in ("kvsim", "simpy", "numpy", "scipy", "pandas", "matplotlib"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def manifest(experiment: Experiment) -> dict:
    by_policy = experiment.engines  # found when the config was checked: no policy is built again here
    return {
        "name": experiment.name,
        "source": experiment.source,
        "fingerprint": fingerprint(experiment),
        "configured": fingerprint(experiment, with_sources=False),
        "seeds": experiment.seeds,
        "sweep": {"grid": experiment.grid, "zip": experiment.zipped},
        "runs": len(points(experiment)),
        "config": experiment.config.written(),
        "versions": versions(),
        "engine": next(iter(by_policy.values())) if len(set(by_policy.values())) == 1 else "mixed",
        "engines": by_policy,
        "engine_notes": experiment.engine_notes,
    }


@dataclass
class Outcome:
    results: pd.DataFrame
    summary: pd.DataFrame
    out: Path
    ran: int  # runs simulated now (the rest were resumed from disk)
    figures: list[Path] = field(default_factory=list)
    redone: int = 0  # run files found that did not verify, simulated again
    short: list = field(default_factory=list)  # (measured, asked) of runs whose request stream ended early


def read_manifest(out: Path) -> dict | None:
    """DIR's manifest.json: None when there is none; ConfigError-free, a damaged one gives {}."""
    return outdir.read_manifest(out / "manifest.json", "fingerprint", str)


def prepare_out(out: Path, experiment: Experiment, force: bool, repair: bool) -> bool:
    """Whether `out` must be cleared before the run; ConfigError when its contents forbid the run.

    The same experiment resumes.  Another experiment's results are kept
    unless --force; a directory whose runs/ holds nothing may be reused
    freely (an earlier attempt that failed before any run finished).  A
    damaged manifest is said to be damaged: --repair resumes from the run
    files that verify against this experiment, --force starts from nothing.
    """
    if force:
        return True
    manifest = read_manifest(out)
    if manifest is None:
        return False
    fingerprint_now = fingerprint(experiment)
    if manifest.get("fingerprint") == fingerprint_now:
        return False
    if manifest.get("configured") == fingerprint(experiment, with_sources=False):
        return False  # the same experiment, a policy module edited since: its stale runs do not verify
    run_files = list((out / "runs").glob("*.json")) if (out / "runs").is_dir() else []
    if manifest == {}:
        if repair:
            return False
        usable = len(saved_runs(out / "runs", points(experiment), fingerprint_now).records)
        raise ConfigError(
            f"{out}/manifest.json is damaged (not a kvsim manifest); {usable} of {len(run_files)} run files there "
            f"verify against this experiment: pass --repair to rewrite the manifest and resume from them, or "
            f"--force to start from nothing"
        )
    if not run_files:
        return True
    raise ConfigError(
        f"{out} holds results of a different experiment ({manifest.get('name', '?')!r}, {len(run_files)} runs); "
        f"choose another --out, or pass --force to replace them"
    )


def clear_outputs(out: Path) -> None:
    """Remove what a previous experiment wrote to `out`, and nothing else of the directory."""
    shutil.rmtree(out / "runs", ignore_errors=True)
    for name in (*TABLES, "manifest.json"):
        (out / name).unlink(missing_ok=True)
    from experiments import plots  # matplotlib loads only where figures are drawn or removed (see draw_figures)

    plots.remove_figures(out, plots.PLOTS)


def run_experiment(
    experiment: Experiment,
    out: Path,
    workers: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    progress: bool | None = None,
    figures: bool = True,
    repair: bool = False,
) -> Outcome:
    """Run what is missing of `experiment` in `out`, then write its tables and figures.

    `workers` local processes (never more than runs to simulate), or the
    Dask `scheduler` at tcp://HOST:PORT.  `out` is locked for the whole
    command; nothing is cleared or written before the executor is had, and a
    directory created here is removed again if the command fails before any
    run is saved.
    """
    runs = points(experiment)
    fingerprint_now = fingerprint(experiment)
    with claim(out) as out:
        clear = prepare_out(out, experiment, force, repair)
        saved = Saved() if clear else saved_runs(out / "runs", runs, fingerprint_now)
        missing = len(runs) - len(saved.records)
        with open_executor(min(workers, max(1, missing)), scheduler) as executor:
            if clear:
                clear_outputs(out)
            atomic_write(out / "manifest.json", json.dumps(manifest(experiment), indent=2, default=str) + "\n")
            records = simulate(experiment.name, runs, out / "runs", fingerprint_now, executor, progress, missing)
        results, summary = write_tables(out, records, experiment.swept_keys)
        drawn = draw_figures(out) if figures else []
    short = [
        (record["metrics"]["requests"], point.config.run.requests)
        for point, record in zip(runs, records)
        if record["metrics"]["requests"] < point.config.run.requests
    ]
    return Outcome(
        results=results,
        summary=summary,
        out=out,
        ran=missing,
        figures=drawn,
        redone=len(saved.unverified),
        short=short,
    )


def simulate(
    name: str, runs: list[Point], runs_dir: Path, fingerprint_now: str, executor, progress: bool | None, missing: int
) -> list[dict]:
    """Every run's record, simulating the `missing` ones.

    The progress bar (with its ETA) is drawn only on a terminal unless asked.
    """
    show = is_terminal() if progress is None else progress
    with tqdm(total=len(runs), initial=len(runs) - missing, desc=name, unit="run", disable=not show) as bar:
        return execute(runs, runs_dir, fingerprint_now, executor, on_done=lambda _record: bar.update(1))


def draw_figures(out: Path) -> list[Path]:
    """DIR's figures (experiments/plots), drawn from the tables just written; the files written.

    matplotlib and the figures' modules (about 1 s) load here, not with the
    runner: a run without figures (`experiments.run` without `out`, the
    bench) never loads them, and one with figures loads them once either way.
    """
    from experiments import plots

    return plots.draw(out)


def write_tables(out: Path, records: list[dict], swept: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """results.csv, summary.csv, nodes.csv, latency.csv, timeseries.csv, fleet.csv and restarts.csv from
    the runs' records."""
    results = results_table(records, swept)
    summary = summary_table(records, swept)
    atomic_write(out / "results.csv", results.to_csv(index=False))
    atomic_write(out / "summary.csv", summary.to_csv(index=False))
    atomic_write(out / "nodes.csv", nodes_table(records, swept).to_csv(index=False))
    atomic_write(out / "latency.csv", latency_table(records, swept).to_csv(index=False))
    atomic_write(out / "timeseries.csv", timeseries_table(records, swept).to_csv(index=False))
    atomic_write(out / "fleet.csv", fleet_table(records, swept).to_csv(index=False))
    atomic_write(out / "restarts.csv", restarts_table(records, swept).to_csv(index=False))
    return results, summary
