"""Plots of an experiment, drawn from the files in its output directory.

`draw(out)` reads DIR's manifest.json and tables (summary.csv, nodes.csv,
latency.csv, timeseries.csv and fleet.csv), asks `plan` which figures suit what was
swept, and writes each as DIR/<name>.png and DIR/<name>.svg.  A folder
written by `kvsim mrc` gets its miss-ratio curve redrawn instead (mrc.py),
one written by `kvsim replay --out` its grid's figures (replay.py).
Nothing here runs a simulation, so `kvsim plot DIR` redraws an experiment
(for instance after changing a figure) and draws the same bytes as the run
did: the files carry no timestamp or version, and SVG ids come from a fixed
salt.

The figures, and when `plan` picks them:

    capacity_curve   hit ratio vs capacity per node, a line per policy (or other
                     swept values), 95% CI bands; Che's curve dashed for LRU
    p99_capacity     p99 latency vs capacity per node
    ttl_curve        hit ratio and p99 vs TTL; the no-eviction TTL formula dashed
    node_scaling     hit ratio, p99 and load imbalance vs the number of nodes
    policy_compare   bars per policy (hit ratio, p99), grouped by the other swept values
    sweep_curve      hit ratio and p99 vs the first swept key, when no figure above fits
                     (bars when its values are categories, such as balancers)
    cost_service     node-hours against minutes over the targets, a point per sweep point
                     (a sweep over [autoscale] keys)
    near_stale       stale near reads, and their share of near hits, vs the near caches'
                     invalidation delay, a line per near-cache size (a sweep over the delay)
    latency_cdf      the points' latency distributions as steps, body and tail   (always)
    node_load        each node's requests relative to the mean   (unless one node throughout)
    timeseries       hit ratio, p99 and backend load over time     (runs of 5 intervals or more);
                     with a fleet that changed (fleet.csv), the nodes serving on top, each change marked

The modules, by job: tables (reading DIR), planning, style (look, saving),
parallel (the files drawn side by side on the cores, the same bytes), labels
(axes, units, tick labels), frame (title and notes), overlays (what theory
predicts, dashed over the curves), and one module per family of figures:
curves, bars, latency, nodes, timeseries, mrc, cost, near.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from experiments.plots import mrc, replay
from experiments.plots.bars import policy_compare
from experiments.plots.cost import cost_service
from experiments.plots.curves import capacity_curve, node_scaling, p99_capacity, sweep_curve, ttl_curve
from experiments.plots.labels import axis_label
from experiments.plots.latency import latency_cdf
from experiments.plots.near import near_stale
from experiments.plots.nodes import node_load
from experiments.plots.parallel import draw_figures
from experiments.plots.planning import has_time_course, plan
from experiments.plots.style import STYLE, remove_figures, save
from experiments.plots.tables import Tables, load
from experiments.plots.timeseries import TIMESERIES_PANELS, timeseries

#: figure name -> the function drawing it from an experiment's tables
PLOTS: dict[str, Callable[[Tables], object]] = {
    "capacity_curve": capacity_curve,
    "p99_capacity": p99_capacity,
    "ttl_curve": ttl_curve,
    "node_scaling": node_scaling,
    "policy_compare": policy_compare,
    "sweep_curve": sweep_curve,
    "cost_service": cost_service,
    "latency_cdf": latency_cdf,
    "node_load": node_load,
    "timeseries": timeseries,
    "near_stale": near_stale,
}

__all__ = [
    "PLOTS",
    "STYLE",
    "TIMESERIES_PANELS",
    "Tables",
    "axis_label",
    "draw",
    "load",
    "plan",
    "remove_figures",
    "save",
]


def draw(out: Path) -> list[Path]:
    """Draw every planned figure of DIR into DIR (or its miss-ratio curve); returns the files written."""
    out = Path(out)
    written = mrc.draw_curve(out) if mrc.holds_curve(out) else []
    written += replay.draw(out) if replay.holds_grid(out) else []
    if not (out / "manifest.json").exists():
        if written:
            return written
        raise FileNotFoundError(
            f"{out}: no experiment here (no manifest.json) and no miss-ratio curve (no mrc.csv) or replay "
            f"grid (no replay.csv); run `kvsim run --out {out}`, `kvsim mrc TRACE --out {out}` or "
            f"`kvsim replay TRACE... --out {out}` first"
        )
    tables = load(out)
    names = plan(tables.sweep, has_time_course(tables.timeseries), tables.one_node)
    written += draw_figures(tables, {name: PLOTS[name] for name in names}, out)
    remove_figures(out, [name for name in PLOTS if name not in names])  # left by an earlier plan
    return written
