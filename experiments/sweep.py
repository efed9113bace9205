"""From an experiment to its runs: sweep points times seeds.

Each run is a `Point`: a fully resolved config, the swept values that tell it
apart, and a seed.  A point is all `run_point` needs, so it can be pickled to
another process or a Dask worker and gives the same result there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from experiments.config import Experiment, sweep_values, with_values


@dataclass(frozen=True)
class Point:
    index: int  # position of the sweep point (seeds share it)
    values: dict  # dotted key -> value, for the swept keys
    seed: int
    config: dict  # resolved config of this point

    @property
    def run_id(self) -> str:
        """A name for this run's result file, derived from everything that decides the result."""
        # The seed list is left out: adding a seed must not invalidate the other seeds' runs.
        config = {**self.config, "run": {k: v for k, v in self.config["run"].items() if k != "seeds"}}
        blob = json.dumps({"config": config, "seed": self.seed}, sort_keys=True, default=str)
        return f"{self.index:04d}-s{self.seed}-" + hashlib.blake2b(blob.encode(), digest_size=6).hexdigest()


def points(experiment: Experiment) -> list[Point]:
    """Every run of the experiment: sweep points in order, each with every seed."""
    runs = []
    for index, values in enumerate(sweep_values(experiment)):
        config = with_values(experiment.config, values)
        for seed in experiment.seeds:
            runs.append(Point(index=index, values=values, seed=seed, config=config))
    return runs


def fingerprint(experiment: Experiment) -> str:
    """Identifies the experiment's content; two configs with the same runs share it."""
    blob = json.dumps(
        {"config": experiment.config, "grid": experiment.grid, "zipped": experiment.zipped},
        sort_keys=True,
        default=str,
    )
    return hashlib.blake2b(blob.encode(), digest_size=12).hexdigest()
