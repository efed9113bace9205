"""Which figures suit an experiment, from what it swept and what its tables hold."""

from __future__ import annotations

import pandas as pd

from experiments.plots.labels import numeric_axis
from sim.metrics import TIMESERIES

#: swept key -> the figures that show it, in drawing order, and how many
#: values it needs: a curve wants three points, a bar chart two bars
FOR_KEY = {
    "cluster.capacity": (("capacity_curve", "p99_capacity"), 3),
    "cluster.ttl": (("ttl_curve",), 3),
    "cluster.nodes": (("node_scaling",), 3),
    "cluster.policy": (("policy_compare",), 2),
}

#: the keys of FOR_KEY whose figures are bars, a bar per value of any kind
CATEGORICAL = ("cluster.policy",)

#: a time series is worth a figure when a run spans at least this many intervals
TIME_COURSE_INTERVALS = 5


def plan(sweep: dict[str, list], timeseries: bool = False, one_node: bool = False) -> list[str]:
    """The figures worth drawing for an experiment that swept `sweep` (dotted key -> values).

    Each swept key of FOR_KEY with enough values adds its figures; a key
    with fewer values still shows, as the lines or bar groups of the others
    (ttl_sweep's two capacities are two TTL curves, not a capacity curve of
    two points), and gets its own figures only when no other key earned any.
    A sweep that earns none gets a generic curve against its first key; a sweep over
    [autoscale] keys gets the cost-against-service scatter instead of node_scaling, and one over
    the near caches' invalidation delay the stale near reads against it.
    Every experiment gets its latency CDF, and its per-node load unless it
    has `one_node` throughout; a `timeseries` (timeseries.csv) is drawn too.
    """
    names = _figures_for(sweep, at_least=True) or _figures_for(sweep, at_least=False)
    if any(key.startswith("autoscale.") for key in sweep):
        # Fleets sized differently over time: each point's cost against its service, not a curve in
        # cluster.nodes (which is only where each fleet starts).
        names = ["cost_service"] + [name for name in names if name != "node_scaling"]
    if sweep and not names:
        names.append("sweep_curve")
    if len(sweep.get("near.invalidation_delay_s", ())) >= 2:
        names.append("near_stale")
    names.append("latency_cdf")
    if not one_node:
        names.append("node_load")
    if timeseries:
        names.append("timeseries")
    return names


def _figures_for(sweep: dict, at_least: bool) -> list[str]:
    return [
        name
        for key, (figures, enough) in FOR_KEY.items()
        if key in sweep and (len(sweep[key]) >= enough or not at_least) and _drawable(key, sweep[key])
        for name in figures
    ]


def _drawable(key: str, values: list) -> bool:
    """Whether the key's own figures can show these values: a curve needs numbers of one kind on its axis
    (a capacity sweep of 100 objects and "1KiB" has none, and gets bars of the generic figure instead)."""
    return key in CATEGORICAL or numeric_axis(values) is not None


def has_time_course(timeseries: pd.DataFrame | None) -> bool:
    """Whether timeseries.csv shows a course over time (a capacity sweep of a few seconds does not)."""
    if timeseries is None or timeseries.empty:
        return False
    runs = timeseries.groupby([c for c in timeseries.columns if c not in TIMESERIES], sort=False)
    return int(runs.size().max()) >= TIME_COURSE_INTERVALS
