"""The latency distribution of each sweep point: its CDF, and its tail on log axes.

latency.csv holds, for each run, points (latency_ms, probability) of its
latency CDF: the fraction of requests answered within latency_ms.  However
many there are, they are drawn as steps, never joined by straight lines: a
line between two points would draw a ramp through latencies that may never
occur (between a hit's 0.3 ms and a miss's 3 ms there are none).  A step
holds each point's fraction until the next point, so it never claims more
requests answered than the table says.

The runs of a point (its seeds) are pooled: the pooled CDF at x is the mean
of the runs' CDFs at x (each run measures the same number of requests), so
it is the distribution of all the point's requests together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.plots.frame import caption, figure
from experiments.plots.labels import plain_log_ticks, point_label
from experiments.plots.style import LAYERED, colors, layered_widths, place_legends
from experiments.plots.tables import Tables, series

#: more curves than this in one latency CDF are a tangle
MAX_CURVES = 8


def step_values(latency_ms: np.ndarray, probability: np.ndarray, at: np.ndarray) -> np.ndarray:
    """One run's CDF at the latencies `at`: the largest fraction recorded at or below each (0 below all)."""
    order = np.argsort(latency_ms, kind="stable")
    latency_ms = latency_ms[order]
    reached = np.maximum.accumulate(probability[order])
    index = np.searchsorted(latency_ms, at, side="right") - 1
    return np.where(index >= 0, reached[np.maximum(index, 0)], 0.0)


def pooled_cdf(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(latencies, fractions): the steps of the CDF of all the requests of `rows`' runs (one per seed)."""
    at = np.unique(rows["latency_ms"].to_numpy(float))
    runs = [
        step_values(run["latency_ms"].to_numpy(float), run["probability"].to_numpy(float), at)
        for _, run in rows.groupby("seed", sort=False)
    ]
    return at, np.mean(runs, axis=0)


def cdf_points(tables: Tables) -> tuple[pd.DataFrame, list[str], dict]:
    """The latency rows worth a CDF, the keys that tell them apart, and the values held fixed.

    A small sweep shows every point.  A larger one shows the points along
    its longest swept key, with the other keys at their first values
    (latency.csv keeps every point's CDF).
    """
    keys, latency = tables.swept, tables.latency
    if len(tables.summary) <= MAX_CURVES:
        return latency, keys, {}
    along = max(keys, key=lambda key: len(tables.sweep[key]))  # the first of the longest
    held = {key: tables.summary[key].iloc[0] for key in keys if key != along}
    chosen = np.logical_and.reduce([latency[key] == value for key, value in held.items()])
    return latency[chosen], [along], held


def latency_cdf(tables: Tables):
    """Each point's latency distribution (its runs pooled): the body, and the tail on log axes."""
    latency, keys, held = cdf_points(tables)
    groups = series(latency, keys, None)
    title = "latency distribution" + (f" at {point_label(list(held), held.values())}" if held else "")
    fig, (body, tail) = figure(tables, title, panels=2, intervals="")
    for color, width, (label, _, rows) in zip(colors(len(groups)), layered_widths(len(groups)), groups):
        latency_ms, fraction = pooled_cdf(rows)
        style = {"color": color, "linewidth": width, "label": label or "all requests", "drawstyle": "steps-post"}
        body.plot(latency_ms, fraction, **style)
        slower = 1.0 - fraction
        shown = slower > 0  # a log axis has no room for zero: the steps end where every request is counted
        tail.plot(latency_ms[shown], slower[shown], **style)
    body.set_title("CDF")
    body.set_ylabel("fraction of requests answered within x")
    body.set_ylim(0, 1)
    tail.set_title("Tail")
    tail.set_ylabel("fraction of requests slower than x")
    tail.set_yscale("log")
    measured = latency["latency_ms"][latency["latency_ms"] > 0]
    for ax in (body, tail):
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis, measured.min(), measured.max())
        ax.set_xlabel("latency (ms)")
    # A CDF has risen by the right: its lower right is empty; the tails fall to the lower right.
    place_legends(fig, {body: "lower right", tail: "lower left"})
    per_run = latency.groupby(["seed", *keys], sort=False).size()
    points = f"{per_run.min()}" if per_run.min() == per_run.max() else f"{per_run.min()} to {per_run.max()}"
    caption(
        fig,
        [
            f"Steps through the points of each run's CDF in latency.csv ({points} per run): nothing between two "
            "points is drawn as if it were measured. The seeds of a point are pooled.",
            LAYERED if len(groups) > 1 else "",
        ],
    )
    return fig
