"""An experiment from config to files: the body of `kvsim run` and `experiments.run`.

DIR/manifest.json   what was run: resolved config, sweep, seeds, versions
DIR/runs/*.json     one file per finished run (what resume reads)
DIR/results.csv     one row per run;  DIR/summary.csv  one row per point
DIR/nodes.csv       one row per run and node
DIR/latency.csv     each run's latency quantiles (its CDF)
DIR/timeseries.csv  one row per run and interval of simulated time
DIR/*.png, *.svg    the figures experiments/plots.py plans for what was swept
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

from experiments import plots
from experiments.config import ConfigError, Experiment
from experiments.execute import atomic_write, execute, is_terminal, open_executor, pending_points
from experiments.results import latency_table, nodes_table, results_table, summary_table, timeseries_table
from experiments.sweep import Point, fingerprint, points

#: the tables of DIR (replaced by --force)
TABLES = ("results.csv", "summary.csv", "nodes.csv", "latency.csv", "timeseries.csv")


def versions() -> dict:
    found = {"python": platform.python_version()}
    for package in ("kvsim", "simpy", "numpy", "scipy", "pandas", "matplotlib"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def manifest(experiment: Experiment) -> dict:
    return {
        "name": experiment.name,
        "source": experiment.source,
        "fingerprint": fingerprint(experiment),
        "seeds": experiment.seeds,
        "sweep": {"grid": experiment.grid, "zip": experiment.zipped},
        "runs": len(points(experiment)),
        "config": experiment.config,
        "versions": versions(),
    }


@dataclass
class Outcome:
    results: pd.DataFrame
    summary: pd.DataFrame
    out: Path
    ran: int  # runs simulated now (the rest were resumed from disk)
    figures: list[Path] = field(default_factory=list)


def prepare_out(out: Path, experiment: Experiment, force: bool) -> None:
    """Refuse to mix two experiments' runs in one directory, unless forced."""
    existing = out / "manifest.json"
    if not existing.exists():
        return
    try:
        previous = json.loads(existing.read_text()).get("fingerprint")
    except (OSError, json.JSONDecodeError, AttributeError):
        previous = None
    if previous == fingerprint(experiment):
        return
    if not force:
        raise ConfigError(
            f"{out} holds results of a different experiment; choose another --out, or pass --force to replace them"
        )
    clear_outputs(out)


def clear_outputs(out: Path) -> None:
    """Remove what a previous experiment wrote to `out`, and nothing else of the directory."""
    shutil.rmtree(out / "runs", ignore_errors=True)
    for name in (*TABLES, "manifest.json"):
        (out / name).unlink(missing_ok=True)
    plots.remove_figures(out, plots.PLOTS)


def run_experiment(
    experiment: Experiment,
    out: Path,
    workers: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    progress: bool | None = None,
    figures: bool = True,
) -> Outcome:
    """Run what is missing of `experiment` in `out`, then write its tables and figures.

    `workers` local processes, or the Dask `scheduler` at tcp://HOST:PORT.
    The executor is opened first: if it cannot be had, nothing is written.
    """
    out = Path(out)
    runs = points(experiment)
    with open_executor(workers, scheduler) as executor:
        prepare_out(out, experiment, force)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "manifest.json", json.dumps(manifest(experiment), indent=2, default=str) + "\n")
        records, ran = simulate(experiment.name, runs, out / "runs", executor, progress)
    results, summary = write_tables(out, records, experiment.swept_keys)
    drawn = plots.draw(out) if figures else []
    return Outcome(results=results, summary=summary, out=out, ran=ran, figures=drawn)


def simulate(name: str, runs: list[Point], runs_dir: Path, executor, progress: bool | None) -> tuple[list[dict], int]:
    """Every run's record, simulating the missing ones; and how many those were.

    The progress bar (with its ETA) is drawn only on a terminal unless asked.
    """
    missing = len(pending_points(runs, runs_dir))
    show = is_terminal() if progress is None else progress
    with tqdm(total=len(runs), initial=len(runs) - missing, desc=name, unit="run", disable=not show) as bar:
        records = execute(runs, runs_dir, executor, on_done=lambda _record: bar.update(1))
    return records, missing


def write_tables(out: Path, records: list[dict], swept: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """results.csv, summary.csv, nodes.csv and latency.csv from the runs' records."""
    results = results_table(records, swept)
    summary = summary_table(records, swept)
    atomic_write(out / "results.csv", results.to_csv(index=False))
    atomic_write(out / "summary.csv", summary.to_csv(index=False))
    atomic_write(out / "nodes.csv", nodes_table(records, swept).to_csv(index=False))
    atomic_write(out / "latency.csv", latency_table(records, swept).to_csv(index=False))
    atomic_write(out / "timeseries.csv", timeseries_table(records, swept).to_csv(index=False))
    return results, summary
