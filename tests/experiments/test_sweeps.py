"""Sweeps: grid x zip x seeds, with common random numbers across the points of a seed."""

import json

import numpy as np
import pandas as pd

import experiments
from experiments.config import resolve
from experiments.config.build import scenario
from experiments.config.sweep import points
from sim.draws import RequestDraws
from sim.membership import Membership
from tests.experiments.conftest import kvsim, write_config

POLICIES = """
name = "paired"
[run]
requests = 3000
warmup = 500
seeds = [1, 2]
[workload]
keys = 2000
rate = 5000
[cluster]
nodes = 3
capacity = 100
[sweep]
"cluster.policy" = ["lru", "fifo", "random"]
"""


def test_every_point_of_a_seed_sees_the_same_request_stream():
    experiment = resolve(
        {
            "run": {"requests": 3000, "warmup": 0, "seeds": [1, 2]},
            "workload": {"keys": 500},
            "sweep": {"cluster.policy": ["lru", "lfu"], "cluster.capacity": [20, 50]},
        }
    )
    streams = {}
    for point in points(experiment):
        sc = scenario(point.config)
        draws = list(RequestDraws(sc, point.seed, Membership(sc.cluster.nodes)))
        streams.setdefault(point.seed, []).append(
            [
                np.concatenate([d.batch.time for d in draws]),
                np.concatenate([d.batch.key for d in draws]),
                np.concatenate([d.read_node for d in draws]),
                np.concatenate([d.service for d in draws]),
            ]
        )
    for per_point in streams.values():
        assert len(per_point) == 4
        for other in per_point[1:]:  # times, keys, nodes and backend service times all equal
            for mine, theirs in zip(per_point[0], other):
                assert np.array_equal(mine, theirs)
    assert not np.array_equal(streams[1][0][1], streams[2][0][1])  # another seed, another stream


def test_policies_at_one_seed_get_the_same_requests_per_node(tmp_path):
    out = tmp_path / "out"
    results = experiments.run(write_config(tmp_path, POLICIES), out=out)
    nodes = pd.read_csv(out / "nodes.csv")
    # Requests per node depend only on the key stream and the balancer, not on the policy.
    load = nodes.pivot_table(index=["seed", "node"], columns="cluster.policy", values="requests")
    assert (load["lru"] == load["fifo"]).all() and (load["lru"] == load["random"]).all()
    assert not (load.loc[1]["lru"].to_numpy() == load.loc[2]["lru"].to_numpy()).all()
    # ... while what the policies do with them differs.
    hits = results.pivot_table(index="seed", columns="cluster.policy", values="hits")
    assert (hits["lru"] != hits["fifo"]).all()


ZIPPED = """
name = "zipped"
[run]
requests = 2000
warmup = 500
seeds = [7]
[workload]
keys = 2000
rate = 5000
[sweep]
"cluster.policy" = ["lru", "fifo"]
[sweep.zip]                       # total capacity 400 split over 1, 2 or 4 nodes
"cluster.nodes" = [1, 2, 4]
"cluster.capacity" = [400, 200, 100]
"""


def test_zip_varies_keys_together_across_the_grid(tmp_path):
    out = tmp_path / "out"
    done = kvsim("run", write_config(tmp_path, ZIPPED), "--out", out, "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "6 runs (6 simulated now)" in done.stdout
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns[:4]) == ["seed", "cluster.policy", "cluster.nodes", "cluster.capacity"]
    pairs = list(zip(results["cluster.policy"], results["cluster.nodes"], results["cluster.capacity"]))
    assert pairs == [(p, n, c) for p in ("lru", "fifo") for n, c in ((1, 400), (2, 200), (4, 100))]
    nodes = pd.read_csv(out / "nodes.csv")
    assert nodes.groupby(["cluster.policy", "cluster.nodes"])["node"].nunique().to_dict() == {
        (p, n): n for p in ("lru", "fifo") for n in (1, 2, 4)
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sweep"] == {
        "grid": {"cluster.policy": ["lru", "fifo"]},
        "zip": {"cluster.nodes": [1, 2, 4], "cluster.capacity": [400, 200, 100]},
    }


def test_zip_lists_of_unequal_length_are_refused(tmp_path):
    bad = ZIPPED.replace("[400, 200, 100]", "[400, 200]")
    done = kvsim("run", write_config(tmp_path, bad), "--out", tmp_path / "out")
    assert done.returncode == 2 and "sweep.zip: lists must have equal lengths" in done.stderr
    assert not (tmp_path / "out").exists()
