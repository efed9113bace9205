"""An experiment from config to files: the body of `kvsim run` and `experiments.run`.

DIR/manifest.json   what was run: resolved config, sweep, seeds, versions
DIR/runs/*.json     one file per finished run (what resume reads)
DIR/results.csv     one row per run;  DIR/summary.csv  one row per point
DIR/nodes.csv       one row per run and node
DIR/timeseries.csv  one row per run and interval of simulated time
DIR/capacity_curve.png
"""

from __future__ import annotations

import json
import platform
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from experiments import config as config_module
from experiments.config import ConfigError, Experiment
from experiments.execute import atomic_write, execute, is_terminal
from experiments.plots import capacity_curve
from experiments.results import nodes_table, results_table, summary_table, timeseries_table
from experiments.sweep import fingerprint, points

BUILTIN_CONFIGS = Path(__file__).parent / "configs"


def builtin_config(name: str) -> Path:
    return BUILTIN_CONFIGS / f"{name}.toml"


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
        raise ConfigError(f"{out} holds results of a different experiment; choose another --out, "
                          f"or pass --force to replace them")
    shutil.rmtree(out / "runs", ignore_errors=True)


def run_experiment(experiment: Experiment, out: Path, workers: int = 1, force: bool = False,
                   progress: bool | None = None) -> Outcome:
    out = Path(out)
    prepare_out(out, experiment, force)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "manifest.json", json.dumps(manifest(experiment), indent=2, default=str) + "\n")
    runs = points(experiment)
    swept = experiment.swept_keys
    show = is_terminal() if progress is None else progress
    with tqdm(total=len(runs), desc=experiment.name, unit="run", disable=not show) as bar:
        before = len(list((out / "runs").glob("*.json"))) if (out / "runs").exists() else 0
        bar.update(min(before, len(runs)))
        ran = 0

        def tick(_record):
            nonlocal ran
            ran += 1
            bar.update(1)

        records = execute(runs, out / "runs", workers=workers, on_done=tick)
    results = results_table(records, swept)
    summary = summary_table(records, swept)
    atomic_write(out / "results.csv", results.to_csv(index=False))
    atomic_write(out / "summary.csv", summary.to_csv(index=False))
    atomic_write(out / "nodes.csv", nodes_table(records, swept).to_csv(index=False))
    atomic_write(out / "timeseries.csv", timeseries_table(records, swept).to_csv(index=False))
    capacity_curve(summary, swept, out / "capacity_curve.png", title=experiment.name)
    return Outcome(results=results, summary=summary, out=out, ran=ran)


def resolve(config_or_path, overrides: dict | None = None) -> Experiment:
    """An Experiment from a path, a built-in config's name, a dict or an Experiment.

    `overrides` set dotted keys ("cluster.capacity" or cluster__capacity) before
    validation; an overridden key is no longer swept.
    """
    overrides = overrides or {}
    if isinstance(config_or_path, Experiment):
        return config_module.from_dict(config_module.with_overrides(config_or_path.raw, overrides),
                                       source=config_or_path.source, default_name=config_or_path.name)
    if isinstance(config_or_path, dict):
        return config_module.from_dict(config_module.with_overrides(config_or_path, overrides))
    path = Path(config_or_path)
    if not path.exists() and builtin_config(str(config_or_path)).exists():
        path = builtin_config(str(config_or_path))
    return config_module.load(path, overrides)
