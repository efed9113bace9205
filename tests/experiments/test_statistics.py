"""summary.csv: per point, the mean across seeds and the half-width of a 95% t-interval."""

import math

import pandas as pd
import pytest

import experiments
from experiments.output.tables import SUMMARY_METRICS, ci95, summary_table
from tests.experiments.conftest import write_config

#: Student's t quantiles at p = 0.975 in closed form, independent of scipy:
#: with 1 degree of freedom t is Cauchy, tan(pi (p - 1/2)); with 2 it is
#: (2p - 1) / sqrt(2 p (1 - p)).  (12.7062... and 4.3027... in the tables.)
T_975 = {1: math.tan(math.pi * 0.475), 2: 0.95 / math.sqrt(2 * 0.975 * 0.025)}


def test_ci95_by_hand():
    # mean 0.6, sample standard deviation 0.1, n = 3
    assert ci95([0.5, 0.6, 0.7]) == pytest.approx(T_975[2] * 0.1 / math.sqrt(3), rel=1e-9)
    # sd sqrt(2), n = 2: the half-width is t itself
    assert ci95([1.0, 3.0]) == pytest.approx(T_975[1], rel=1e-9)
    assert ci95([5.0, 5.0, 5.0]) == 0.0
    assert math.isnan(ci95([0.42]))  # one seed: no interval


def record(index, seed, hit_ratio, p99):
    metrics = {metric: 0.0 for metric in SUMMARY_METRICS} | {"hit_ratio": hit_ratio, "p99_ms": p99}
    return {"index": index, "seed": seed, "values": {"cluster.capacity": [10, 20][index]}, "metrics": metrics}


def test_summary_rows_per_point_in_sweep_order():
    records = [record(1, 1, 0.8, 3.0), record(0, 1, 0.5, 9.0), record(0, 2, 0.6, 7.0), record(0, 3, 0.7, 8.0)]
    summary = summary_table(records, ["cluster.capacity"])
    assert summary["cluster.capacity"].tolist() == [10, 20] and summary["seeds"].tolist() == [3, 1]
    first = summary.iloc[0]
    assert first["hit_ratio_mean"] == pytest.approx(0.6)
    assert first["hit_ratio_ci95"] == pytest.approx(T_975[2] * 0.1 / math.sqrt(3))
    assert first["p99_ms_mean"] == pytest.approx(8.0)
    assert first["p99_ms_ci95"] == pytest.approx(T_975[2] * 1.0 / math.sqrt(3))
    assert math.isnan(summary.iloc[1]["hit_ratio_ci95"])


def test_summary_csv_agrees_with_a_hand_computation_from_results_csv(tmp_path):
    config = write_config(
        tmp_path,
        """
[run]
requests = 2000
warmup = 500
seeds = [1, 2, 3]
[workload]
keys = 1000
[cluster]
nodes = 2
[sweep]
"cluster.capacity" = [20, 80]
""",
    )
    out = tmp_path / "out"
    experiments.run(config, out=out)
    results, summary = pd.read_csv(out / "results.csv"), pd.read_csv(out / "summary.csv")
    assert list(summary.columns[:2]) == ["cluster.capacity", "seeds"]
    assert [c for c in summary.columns if c.endswith("_mean")] == [f"{m}_mean" for m in SUMMARY_METRICS]
    for capacity, runs in results.groupby("cluster.capacity"):
        row = summary[summary["cluster.capacity"] == capacity].iloc[0]
        assert row["seeds"] == len(runs) == 3
        for metric in ("hit_ratio", "p99_ms", "backend_requests"):
            values = runs[metric].tolist()
            mean = sum(values) / 3
            sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
            assert row[f"{metric}_mean"] == pytest.approx(mean, rel=1e-12)
            assert row[f"{metric}_ci95"] == pytest.approx(T_975[2] * sd / math.sqrt(3), rel=1e-9)
