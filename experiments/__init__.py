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

returns the per-run results as a pandas DataFrame.  Where offered load
reaches a queue's capacity (the backend's, or the busiest node's: utilisation
>= 1), it also issues a ``SaturationWarning`` naming those points, as
`kvsim run` warns on stderr: their latencies grow with the run's length.
Silence it, or make it an error, with the ``warnings`` module's filters.
"""

from __future__ import annotations

import warnings
from pathlib import Path


class SaturationWarning(UserWarning):
    """experiments.run's warning: offered load reaches capacity at the points it names."""


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
    A SaturationWarning names the points whose offered load reaches capacity.
    """
    import tempfile

    from experiments.config import resolve
    from experiments.execute.runner import run_experiment
    from experiments.output.tables import saturation_note

    experiment = resolve(config_or_path, overrides)
    options = dict(workers=workers, scheduler=scheduler, force=force, progress=False)
    if out is not None:
        done = run_experiment(experiment, Path(out), **options)
    else:
        with tempfile.TemporaryDirectory(prefix="kvsim-") as scratch:
            done = run_experiment(experiment, Path(scratch), figures=False, **options)
    note = saturation_note(done.summary, experiment.swept_keys)
    if note is not None:
        warnings.warn(note, SaturationWarning, stacklevel=2)  # pointing at the caller's line
    return done.results
