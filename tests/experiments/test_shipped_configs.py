"""Every experiment in experiments/configs/ loads, says what it shows, runs end to end and plots."""

import pandas as pd
import pytest

import experiments
from experiments import configs as shipped
from experiments import plots
from experiments.config import load
from experiments.config.sweep import sweep_values

SHIPPED = [
    "capacity_curve",
    "gutter",
    "node_scaling",
    "policy_compare",
    "quickstart",
    "rolling_restart",
    "ttl_sweep",
    "near_cache",
    "autoscale",
]

#: the same experiments at a size for a test: every point, one seed, few requests
SMALL = {"run.requests": 2000, "run.warmup": 500, "run.seeds": [1]}


def test_the_shipped_experiments_are_all_there():
    assert set(SHIPPED) <= set(shipped.names())


@pytest.mark.parametrize("name", SHIPPED)
def test_loads_and_opens_with_a_comment_saying_what_it_demonstrates(name):
    path = shipped.path(name)
    experiment = load(path)
    assert experiment.name == name and experiment.swept_keys
    text = path.read_text()
    assert text.startswith(f"# {name}: ")
    comment = text[: text.index("\nname = ")]
    assert len(comment.splitlines()) >= 5 and all(line.startswith("#") for line in comment.strip().splitlines())


@pytest.mark.parametrize("name", SHIPPED)
def test_runs_end_to_end_at_reduced_size_and_plots(tmp_path, name):
    experiment = load(shipped.path(name))
    points = len(sweep_values(experiment))
    results = experiments.run(name, out=tmp_path, **SMALL)
    assert len(results) == points and (results["requests"] == 2000).all()
    one_node = experiment.config.cluster.nodes == 1 and "cluster.nodes" not in experiment.swept_keys
    expected = plots.plan({**experiment.grid, **experiment.zipped}, one_node=one_node)
    assert len(expected) >= 2
    for figure in expected:
        for suffix in (".png", ".svg"):
            assert (tmp_path / f"{figure}{suffix}").stat().st_size > 5000, figure


def test_on_the_shipped_gutter_experiment_a_pool_spares_the_backend_during_the_outage(tmp_path):
    """Issue 21's claim for the shipped `gutter` experiment, over its first 100 s of outage (one seed)."""
    results = experiments.run(
        "gutter",
        out=tmp_path,
        **{"run.requests": 300_000, "run.seeds": [1]},
    )
    assert list(results["cluster.failover"]) == ["rehash", "backend", "gutter"]
    rows = pd.read_csv(tmp_path / "timeseries.csv")
    outage = rows[(rows["t_start"] >= 300) & (rows["t_end"] <= 400)]
    rate = outage.groupby("cluster.failover")["backend_rps"].mean()
    assert rate["gutter"] < 0.95 * rate["backend"]
