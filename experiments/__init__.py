"""What to vary and what to report: from a config to runs, tables and figures, and the command line.

Its rooms, each above the ones it uses (an import contract in pyproject.toml
holds the direction):

    cli/       the `kvsim` command line: each command's flags, and what it prints
    bench/     `kvsim bench`: speed against baselines, side by side
    plan/      `kvsim plan`: the capacity or node count that meets targets
    validate/  `kvsim validate`: the server models against the real Redis and memcached
    execute/   running an experiment: the runner, executors (local, Dask), run files and resume
    trace/     `kvsim replay` and `kvsim mrc`: a trace through policies, without a clock
    plots/     figures drawn from the files an experiment or a curve left
    config/    a config from TOML to checked, typed points, and a point's Scenario
    output/    what every writer shares: the tables, the domain check, output folders
    configs/   the shipped experiments (TOML)

From Python (notebooks):

    import experiments
    table = experiments.run("quickstart", **{"run.seeds": [1]})

returns the per-run results as a pandas DataFrame.
"""

from __future__ import annotations

from pathlib import Path


def run(
    config_or_path="quickstart",
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    force: bool = False,
    **overrides,
):
    """Run an experiment and return its results table (one row per run).

    `config_or_path`: a TOML path, a built-in config's name, a dict shaped
    like the TOML, or an Experiment.  `overrides`: dotted keys to set, written
    ``cluster__capacity=1000`` or ``**{"cluster.capacity": 1000}``; setting a
    swept key replaces its sweep with the one value.
    With `out`, the same files as `kvsim run` are written there (tables,
    manifest, runs, figures) and a re-run resumes; without it the runs go to
    a temporary directory that is removed afterwards, and no figure is drawn.
    `workers` local processes, or a Dask `scheduler` at tcp://HOST:PORT.
    """
    import tempfile

    from experiments.config import resolve
    from experiments.execute.runner import run_experiment

    experiment = resolve(config_or_path, overrides)
    options = dict(workers=workers, scheduler=scheduler, force=force, progress=False)
    if out is not None:
        return run_experiment(experiment, Path(out), **options).results
    with tempfile.TemporaryDirectory(prefix="kvsim-") as scratch:
        return run_experiment(experiment, Path(scratch), figures=False, **options).results
