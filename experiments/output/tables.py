"""Tidy result tables: one row per run, one row per sweep point, one per node.

results.csv   seed, the swept keys, then the metrics of sim.METRICS
summary.csv   the swept keys, seeds, and for each metric its mean across
              seeds and the half-width of a 95% confidence interval
              (Student's t; empty with a single seed)
nodes.csv     seed, the swept keys, node, requests, share, hit_ratio,
              utilisation (offered load over the node's workers' capacity)
timeseries.csv  seed, the swept keys, then one row per interval of simulated
              time (sim.metrics.TIMESERIES; sim/timeseries.py says what each is)
fleet.csv     seed, the swept keys, then one row per change of the fleet
              (sim.metrics.FLEET: its time, kind, nodes, what it moved, why)
restarts.csv  seed, the swept keys, then one row per rolling restart
              (sim.metrics.RESTARTS: its window's requests, hit ratio, backend load)
latency.csv   seed, the swept keys, probability, latency_ms, pooled_ms: each
              run's latency quantiles at sim.CDF_PROBABILITIES (its CDF), and
              those of its point's reads pooled over all the point's seeds
              (their histograms merged); both within 0.1% (sim/histogram.py)

Offered load at or above capacity (utilisation >= SATURATION) means a queue
that grows for as long as the load lasts: `saturated` finds those points.
"""

from __future__ import annotations

import math
import statistics

import pandas as pd
from scipy import special

from sim import CDF_PROBABILITIES, METRICS
from sim.histogram import LatencyHistogram
from sim.metrics import FLEET, RESTARTS, TIMESERIES

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
    "backend_utilisation",
    "node_utilisation",
    "node_seconds",
    "violation_s",
    "near_hits",
    "near_stale",
)

#: offered load over capacity at which a point is saturated: at 1 the servers are busy all the time
#: on average, and the queue in front of them grows for as long as the load lasts, so its latencies
#: measure the run's length as much as the system.  `kvsim run` warns of such points (and figures
#: may mark them) by the mean over seeds of each utilisation column.
SATURATION = 1.0

#: the summary columns that say how loaded a point's servers are, and what each names
UTILISATION = {"backend_utilisation_mean": "backend", "node_utilisation_mean": "busiest node"}


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
    return pd.DataFrame(rows, columns=["seed", *swept, "node", "requests", "share", "hit_ratio", "utilisation"])


def timeseries_table(records: list[dict], swept: list[str]) -> pd.DataFrame:
    rows = [
        {"seed": r["seed"], **{k: cell(r["values"][k]) for k in swept}, **row}
        for r in records
        for row in r.get("timeseries", [])
    ]
    return pd.DataFrame(rows, columns=["seed", *swept, *TIMESERIES])


def fleet_table(records: list[dict], swept: list[str]) -> pd.DataFrame:
    return _per_run_rows(records, swept, "fleet", FLEET)


def restarts_table(records: list[dict], swept: list[str]) -> pd.DataFrame:
    return _per_run_rows(records, swept, "restarts", RESTARTS)


def _per_run_rows(records: list[dict], swept: list[str], name: str, columns: tuple) -> pd.DataFrame:
    rows = [{"seed": r["seed"], **{k: cell(r["values"][k]) for k in swept}, **row} for r in records for row in r[name]]
    return pd.DataFrame(rows, columns=["seed", *swept, *columns])


def latency_table(records: list[dict], swept: list[str]) -> pd.DataFrame:
    """Each run's CDF_PROBABILITIES quantiles, beside its point's quantiles over all seeds' reads."""
    pooled = {}
    for record in records:
        merged = pooled.setdefault(record["index"], LatencyHistogram())
        merged.merge(LatencyHistogram.from_record(record["latency_histogram"]))
    pooled_ms = {index: (merged.quantiles(CDF_PROBABILITIES) * 1000.0).tolist() for index, merged in pooled.items()}
    rows = [
        {
            "seed": r["seed"],
            **{k: cell(r["values"][k]) for k in swept},
            "probability": probability,
            "latency_ms": latency,
            "pooled_ms": point,
        }
        for r in records
        for probability, latency, point in zip(CDF_PROBABILITIES, r["latency_quantiles"], pooled_ms[r["index"]])
    ]
    return pd.DataFrame(rows, columns=["seed", *swept, "probability", "latency_ms", "pooled_ms"])


def ci95(values) -> float:
    """Half-width of the 95% confidence interval of the mean (t distribution); NaN for one value."""
    values = list(values)
    n = len(values)
    if n < 2:
        return math.nan
    # statistics.stdev, not scipy's tstd: it is exact for equal values (0, not a
    # precision warning), as a metric that no seed changes has.  special.stdtrit is the t
    # distribution's quantile that stats.t.ppf computes, without loading scipy.stats (a second).
    return float(special.stdtrit(n - 1, 0.975) * statistics.stdev(values) / math.sqrt(n))


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


def saturation_note(summary: pd.DataFrame, swept: list[str]) -> str | None:
    """What `kvsim run` warns of and `experiments.run` warns with: the saturated points (None when none are)."""
    points = saturated(summary, swept)
    if not points:
        return None
    return (
        f"offered load reaches capacity (utilisation >= {SATURATION:g}) at {'; '.join(points)}: "
        "the queue there grows for as long as the run lasts, so its latencies depend on the run's length"
    )


def saturated(summary: pd.DataFrame, swept: list[str]) -> list[str]:
    """The points whose offered load reaches capacity, as 'key=value, ...: backend 1.09' (summary order)."""
    found = []
    for row in summary.to_dict("records"):
        over = [f"{name} {row[column]:.2f}" for column, name in UTILISATION.items() if row[column] >= SATURATION]
        if over:
            point = ", ".join(f"{key}={row[key]}" for key in swept) or "the experiment's one point"
            found.append(f"{point} ({', '.join(over)})")
    return found
