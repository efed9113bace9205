"""From an experiment to its runs: sweep points times seeds.

A [sweep] table varies dotted keys over a grid (every combination of their
values) and [sweep.zip] varies keys together (the i-th values of each list
make one row); the points are the grid's product times the zipped rows.
experiments/config/loading.py checks the table when it loads a config, and
checks every point as a whole once: an Experiment holds its `SweepPoint`s,
each with its typed config.

Each run is a `Point`: a sweep point's checked config, the swept values that
tell it apart, and a seed.  A point is all `run_point` needs, so it can be
pickled to another process or a Dask worker and gives the same result there.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from experiments.config.schema import Config

if TYPE_CHECKING:  # only for annotations: experiments.config.loading imports this module
    from experiments.config.loading import Experiment


def sweep_rows(grid: dict, zipped: dict) -> list[dict]:
    """The swept values of each point: the grid's product times the zipped rows, in order."""
    grid_rows = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    zip_length = len(next(iter(zipped.values()))) if zipped else 0
    zip_rows = [{key: values[i] for key, values in zipped.items()} for i in range(zip_length)] or [{}]
    return [{**grid_row, **zip_row} for grid_row in grid_rows for zip_row in zip_rows]


def sweep_values(experiment: Experiment) -> list[dict]:
    """The swept values of each point, as the config writes them, in order."""
    return [point.values for point in experiment.sweep_points]


@dataclass(frozen=True)
class SweepPoint:
    """A point of the sweep, checked as a whole when the config was loaded.

    engine: the request loop that will run it, "compiled" or "python", found
    when the point was checked; engine_note: why the Python loop runs it
    ("" when the compiled loop does), as sim.engine.engine_choice says.
    """

    index: int  # position in the sweep
    values: dict  # dotted key -> value as written, for the swept keys
    config: Config
    engine: str
    engine_note: str = ""


@dataclass(frozen=True)
class Point:
    index: int  # position of the sweep point (seeds share it)
    values: dict  # dotted key -> value as written, for the swept keys
    seed: int
    config: Config  # the sweep point's checked config

    @property
    def run_id(self) -> str:
        """A name for this run's result file, derived from everything that decides the result."""
        # The seed list is left out: adding a seed must not invalidate the other seeds' runs.
        config = self.config.written()
        del config["run"]["seeds"]
        blob = json.dumps({"config": config, "seed": self.seed}, sort_keys=True, default=str)
        return f"{self.index:04d}-s{self.seed}-" + hashlib.blake2b(blob.encode(), digest_size=6).hexdigest()


def points(experiment: Experiment) -> list[Point]:
    """Every run of the experiment: sweep points in order, each with every seed."""
    return [
        Point(index=point.index, values=point.values, seed=seed, config=point.config)
        for point in experiment.sweep_points
        for seed in experiment.seeds
    ]


def fingerprint(experiment: Experiment, with_sources: bool = True) -> str:
    """Identifies what decides the experiment's results; two configs with the same runs share it.

    It covers the resolved config and sweep, kvsim's version and the source
    of every user policy module the runs use: editing a policy's code makes
    the saved runs stale, so they are simulated again.  Without the sources
    (`with_sources=False`) it names the experiment as configured, which tells
    an edited policy module from another experiment.
    """
    content = {
        "config": experiment.config.written(),
        "grid": experiment.grid,
        "zipped": experiment.zipped,
        "kvsim": kvsim_version(),
    }
    if with_sources:
        content["policy_sources"] = policy_sources(experiment)
    blob = json.dumps(content, sort_keys=True, default=str)
    return hashlib.blake2b(blob.encode(), digest_size=12).hexdigest()


def kvsim_version() -> str:
    try:
        return metadata.version("kvsim")
    except metadata.PackageNotFoundError:
        return "unknown"


def policy_sources(experiment: Experiment) -> dict[str, str]:
    """module name -> digest of its source, for every user module the runs use (``module:Class``, run.imports)."""
    modules = set(experiment.config.run.imports)
    for point in experiment.sweep_points:
        name = point.config.cluster.policy
        if ":" in name:
            modules.add(name.partition(":")[0])
    return {module: source_digest(module) for module in sorted(modules)}


def source_digest(module: str) -> str:
    """blake2b of a module's source file, or of its name when it has no file (a built-in)."""
    spec = importlib.util.find_spec(module)
    origin = spec.origin if spec is not None else None
    try:
        data = Path(origin).read_bytes() if origin else module.encode()
    except OSError:
        data = module.encode()
    return hashlib.blake2b(data, digest_size=12).hexdigest()
