"""`kvsim run` end to end: run a config, read back every file it wrote."""

import json
import shutil

import pandas as pd
import pytest

from experiments.output.tables import SUMMARY_METRICS
from sim import CDF_PROBABILITIES, METRICS
from tests.experiments.conftest import kvsim


def test_run_writes_results_manifest_and_plot(small_run):
    _, out, done = small_run
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warnings, and no progress bar off a terminal
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == ["seed", "cluster.capacity", *METRICS]
    assert len(results) == 4  # 2 capacities x 2 seeds
    assert set(results["cluster.capacity"]) == {50, 200} and set(results["seed"]) == {1, 2}
    assert (results["requests"] == 3000).all()
    assert (results["hits"] == (results["hit_ratio"] * 3000).round()).all()
    by_capacity = results.groupby("cluster.capacity")["hit_ratio"].mean()
    assert by_capacity[200] > by_capacity[50]
    assert (results["p50_ms"] <= results["p99_ms"]).all() and (results["p99_ms"] <= results["p999_ms"]).all()

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["name"] == "small" and manifest["seeds"] == [1, 2]
    assert manifest["config"]["cluster"]["nodes"] == 2
    assert manifest["sweep"]["grid"] == {"cluster.capacity": [50, 200]}
    assert "numpy" in manifest["versions"] and "simpy" in manifest["versions"]

    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 2 and (summary["seeds"] == 2).all()
    assert summary["hit_ratio_mean"].tolist() == by_capacity.tolist()
    nodes = pd.read_csv(out / "nodes.csv")
    assert len(nodes) == 8 and nodes.groupby(["seed", "cluster.capacity"])["requests"].sum().eq(3000).all()

    png = (out / "capacity_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert (out / "capacity_curve.svg").read_text().lstrip().startswith("<?xml")
    latency = pd.read_csv(out / "latency.csv")
    assert list(latency.columns) == ["seed", "cluster.capacity", "probability", "latency_ms", "pooled_ms"]
    assert len(latency) == 4 * len(CDF_PROBABILITIES)
    # A quantile of two seeds' reads pooled lies between the two seeds' quantiles.
    by_seed = latency.pivot_table(index=["cluster.capacity", "probability"], columns="seed", values="latency_ms")
    pooled = latency.groupby(["cluster.capacity", "probability"])["pooled_ms"].agg(["min", "max"])
    assert (pooled["min"] == pooled["max"]).all()
    assert (by_seed.min(axis=1) <= pooled["min"]).all() and (pooled["min"] <= by_seed.max(axis=1)).all()
    # The time series: each run's rows cover its measured requests, rates over each row's own length.
    series = pd.read_csv(out / "timeseries.csv")
    runs = series.groupby(["seed", "cluster.capacity"])
    assert runs["requests"].sum().eq(3000).all() and runs.size().between(33, 64).all()
    sent = (series["backend_rps"] * (series["t_end"] - series["t_start"])).groupby(
        [series["seed"], series["cluster.capacity"]]
    )
    backend = results.set_index(["seed", "cluster.capacity"])["backend_requests"]
    assert sent.sum().round().astype(int).to_dict() == backend.to_dict()
    # The printed summary: the swept key, seeds, then every summary metric's mean (one list, results.py's),
    # but node_utilisation, 0 without node queues, and the cost columns, without targets or an autoscaler.
    shown = [metric for metric in SUMMARY_METRICS if metric not in ("node_utilisation", "node_seconds", "violation_s")]
    summary = pd.read_csv(out / "summary.csv")
    printed = done.stdout.splitlines()
    assert printed[0].split() == ["cluster.capacity", "seeds", *shown]
    first = [float(v) for v in printed[1].split()]
    assert first[2:] == [round(summary[f"{m}_mean"][0], 4) for m in shown]


def test_same_config_same_bytes_on_any_worker_count(tmp_path, small_run):
    config, one, done = small_run  # run on one worker
    two = tmp_path / "two"
    assert done.returncode == 0 and kvsim("run", config, "--out", two, "--workers", "2").returncode == 0
    for name in ("results.csv", "summary.csv", "nodes.csv", "latency.csv", "capacity_curve.png", "capacity_curve.svg"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_rerun_resumes_and_refuses_another_experiment(tmp_path, small_run):
    small_config, finished, done = small_run
    assert done.returncode == 0
    out = tmp_path / "out"
    shutil.copytree(finished, out)  # a finished run of small_config, left as it was for the other tests
    first = (out / "results.csv").read_bytes()
    again = kvsim("run", small_config, "--out", out, "--workers", "1")
    assert again.returncode == 0 and "(0 simulated now)" in again.stdout
    assert (out / "results.csv").read_bytes() == first

    other = tmp_path / "other.toml"
    other.write_text(small_config.read_text().replace("alpha = 0.9", "alpha = 0.7"))
    refused = kvsim("run", other, "--out", out)
    assert refused.returncode == 2
    assert "holds results of a different experiment" in refused.stderr and "--force" in refused.stderr
    assert (out / "results.csv").read_bytes() == first
    forced = kvsim("run", other, "--out", out, "--workers", "1", "--force")
    assert forced.returncode == 0 and "(4 simulated now)" in forced.stdout


def test_policies_lists_the_registry():
    done = kvsim("policies")
    assert done.returncode == 0
    for name in ("lru", "fifo", "lfu", "clock", "random"):
        assert name in done.stdout


def test_version():
    done = kvsim("--version")
    assert done.returncode == 0 and done.stdout.startswith("kvsim ")


def test_an_unknown_experiment_lists_the_shipped_ones():
    done = kvsim("run", "nosuch")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no such config file" in done.stderr and "quickstart" in done.stderr and "failover" in done.stderr


def test_policies_in_plain_text_with_defaults_and_admission_filters():
    from policies import available, available_admissions

    text = kvsim("policies").stdout
    assert "``" not in text and ":class:" not in text  # no reStructuredText
    for name in available() + available_admissions():
        assert f"\n  {name} " in text, name
    assert "bits = 1, init_freq = 0" in text  # clock's parameters with their defaults
    assert "threshold = (required)" in text  # the size filter's
    assert "small_size_ratio = 0.1, ghost_size_ratio = 0.9, move_to_main_threshold = 2" in text
    assert "Admission filters" in text and "--import" in text


SATURATING = """
name = "saturating"
[run]
requests = 3000
warmup = 500
seeds = [1]
[workload]
keys = 2000
rate = 5000
[cluster]
nodes = 2
capacity = 100
node_concurrency = 1
node_service = { dist = "constant", ms = 0.1 }
[backend]
latency = { dist = "constant", ms = 5 }
[sweep]
"backend.concurrency" = [4, 64]
"""


def test_run_warns_of_the_points_whose_offered_load_reaches_capacity(tmp_path):
    config = tmp_path / "saturating.toml"
    config.write_text(SATURATING)
    done = kvsim("run", config, "--out", tmp_path / "out", "--workers", "1")
    assert done.returncode == 0, done.stderr
    results = pd.read_csv(tmp_path / "out" / "results.csv").set_index("backend.concurrency")
    # About 2,500 misses/s x 5 ms = 12.5 busy servers: 3 times what 4 can do, a fifth of 64.
    assert results.loc[4, "backend_utilisation"] > 2 and results.loc[64, "backend_utilisation"] < 0.3
    # Each node's worker: 2,500 reads/s x 0.1 ms = a quarter of its time.
    assert 0.15 < results.loc[64, "node_utilisation"] < 0.4
    assert "node_utilisation" in done.stdout.splitlines()[0]  # shown with node queues
    (warning,) = done.stderr.splitlines()
    assert warning.startswith("kvsim: warning: offered load reaches capacity (utilisation >= 1)")
    assert f"backend.concurrency=4 (backend {results.loc[4, 'backend_utilisation']:.2f})" in warning
    assert "backend.concurrency=64" not in warning


@pytest.mark.parametrize(
    "args, message",
    [
        (["nosuch"], "argument COMMAND: invalid choice: 'nosuch'"),
        ([], "the following arguments are required: COMMAND"),
        (["run", "--workers", "0"], "run: argument --workers: must be an integer from 1 to 1024; got '0'"),
        (["replay"], "replay: the following arguments are required: TRACE, --policy, --capacity"),
        (["bench", "--only", "nosuch"], "--only: unknown section 'nosuch'"),
    ],
)
def test_command_line_mistakes_are_one_line(args, message):
    done = kvsim(*args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert done.stderr.startswith("kvsim: error: ") and "usage:" not in done.stderr
