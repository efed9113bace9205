"""What to vary and what to report: configs, sweeps, executors, tables, plots, CLI.

From Python (notebooks):

    import experiments
    table = experiments.run("quickstart", **{"run.seeds": [1]})

returns the per-run results as a pandas DataFrame.
"""

from __future__ import annotations

from pathlib import Path


def run(config_or_path="quickstart", out: str | Path | None = None, workers: int = 1, **overrides):
    """Run an experiment and return its results table (one row per run).

    `config_or_path`: a TOML path, a built-in config name, a dict shaped like
    the TOML, or an Experiment.  `overrides`: dotted keys to set, written
    ``cluster__capacity=1000`` or ``**{"cluster.capacity": 1000}``.
    With `out`, the same files as `kvsim run` are written there; without it
    they go to a temporary directory that is removed afterwards.
    """
    import tempfile

    from experiments.runner import resolve, run_experiment

    experiment = resolve(config_or_path, overrides)
    if out is not None:
        return run_experiment(experiment, Path(out), workers=workers, progress=False).results
    with tempfile.TemporaryDirectory(prefix="kvsim-") as scratch:
        return run_experiment(experiment, Path(scratch), workers=workers, progress=False).results
