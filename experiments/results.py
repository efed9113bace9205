"""Tidy result tables: one row per run, one row per sweep point, one per node.

results.csv   seed, the swept keys, then the metrics of sim.METRICS
summary.csv   the swept keys, seeds, and for each metric its mean across
              seeds and the half-width of a 95% confidence interval
              (Student's t; empty with a single seed)
nodes.csv     seed, the swept keys, node, requests, share, hit_ratio
timeseries.csv  seed, the swept keys, then one row per interval of simulated
              time: t_start, requests, hit_ratio, p99_ms, backend_rps
latency.csv   seed, the swept keys, probability, latency_ms: each run's
              latency quantiles at sim.CDF_PROBABILITIES (its CDF)
"""

from __future__ import annotations

import math
import statistics

import pandas as pd
from scipy import stats

from sim import CDF_PROBABILITIES, METRICS
from sim.metrics import TIMESERIES

#: metrics summarized across seeds
SUMMARY_METRICS = (
    "hit_ratio",
    "byte_hit_ratio",
    "backend_requests",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "imbalance",
)


def cell(value):
    """A swept value as a table cell: tables of parameters become 'name(k=v, ...)'."""
    if isinstance(value, dict):
        inner = ", ".join(f"{k}={v}" for k, v in value.items() if k != "dist")
        return f"{value['dist']}({inner})" if "dist" in value else "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return value


def results_table(records: list[dict], swept: list[str]) -> pd.DataFrame:
    rows = [{"seed": r["seed"], **{k: cell(r["values"][k]) for k in swept}, **r["metrics"]} for r in records]
    return pd.DataFrame(rows, columns=["seed", *swept, *METRICS])


def nodes_table(records: list[dict], swept: list[str]) -> pd.DataFrame:
    rows = [
        {"seed": r["seed"], **{k: cell(r["values"][k]) for k in swept}, **node} for r in records for node in r["nodes"]
    ]
    return pd.DataFrame(rows, columns=["seed", *swept, "node", "requests", "share", "hit_ratio"])


def timeseries_table(records: list[dict], swept: list[str]) -> pd.DataFrame:
    rows = [
        {"seed": r["seed"], **{k: cell(r["values"][k]) for k in swept}, **row}
        for r in records
        for row in r.get("timeseries", [])
    ]
    return pd.DataFrame(rows, columns=["seed", *swept, *TIMESERIES])


def latency_table(records: list[dict], swept: list[str]) -> pd.DataFrame:
    rows = [
        {
            "seed": r["seed"],
            **{k: cell(r["values"][k]) for k in swept},
            "probability": probability,
            "latency_ms": latency,
        }
        for r in records
        for probability, latency in zip(CDF_PROBABILITIES, r["latency_quantiles"])
    ]
    return pd.DataFrame(rows, columns=["seed", *swept, "probability", "latency_ms"])


def ci95(values) -> float:
    """Half-width of the 95% confidence interval of the mean (t distribution); NaN for one value."""
    values = list(values)
    n = len(values)
    if n < 2:
        return math.nan
    # statistics.stdev, not scipy's tstd: it is exact for equal values (0, not a
    # precision warning), as a metric that no seed changes has.
    return float(stats.t.ppf(0.975, n - 1) * statistics.stdev(values) / math.sqrt(n))


def summary_table(records: list[dict], swept: list[str]) -> pd.DataFrame:
    """One row per sweep point, in sweep order."""
    by_point: dict[int, list[dict]] = {}
    for record in records:
        by_point.setdefault(record["index"], []).append(record)
    rows = []
    for index in sorted(by_point):
        group = by_point[index]
        row = {k: cell(group[0]["values"][k]) for k in swept}
        row["seeds"] = len(group)
        for metric in SUMMARY_METRICS:
            values = [r["metrics"][metric] for r in group]
            row[f"{metric}_mean"] = sum(values) / len(values)
            row[f"{metric}_ci95"] = ci95(values)
        rows.append(row)
    return pd.DataFrame(rows)
