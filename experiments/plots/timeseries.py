"""Hit ratio, p99 and backend load over simulated time (DIR/timeseries.csv), a line per sweep point."""

from __future__ import annotations

from experiments.plots.frame import caption, figure
from experiments.plots.style import LAYERED, PANEL, colors, layered_widths, place_legends
from experiments.plots.tables import Tables, series

#: the time-series columns (of sim.metrics.TIMESERIES) drawn over time, a panel each, and their axis labels
TIMESERIES_PANELS = {"hit_ratio": "hit ratio", "p99_ms": "p99 latency (ms)", "backend_rps": "backend load (requests/s)"}


def timeseries(tables: Tables):
    """The panels of TIMESERIES_PANELS one above the other, sharing the time axis; runs averaged over seeds."""
    keys = [key for key in tables.swept if key in tables.timeseries.columns]
    # A run's first and last intervals are partial (warm-up ends, and requests end, inside
    # them): leave them out rather than draw their few requests as a spike.
    runs = tables.timeseries.groupby(["seed", *keys], sort=False)
    whole = tables.timeseries[
        (runs["t_start"].rank(method="first") > 1) & (runs["t_start"].rank(method="first", ascending=False) > 1)
    ]
    frame = (
        whole.groupby([*keys, "t_start"], sort=False)[list(TIMESERIES_PANELS)]
        .mean()
        .reset_index()
        .sort_values([*keys, "t_start"], kind="stable")
    )
    groups = series(frame, keys, None)
    panels = len(TIMESERIES_PANELS)
    fig, axes = figure(tables, "over time", panels=panels, rows=panels, width=2 * PANEL[0], height=7.0, intervals="")
    hours = frame["t_start"].max() > 3 * 3600  # a day reads better in hours
    for color, width, (label, _, rows) in zip(colors(len(groups)), layered_widths(len(groups)), groups):
        time = rows["t_start"] / 3600 if hours else rows["t_start"]
        for ax, column in zip(axes, TIMESERIES_PANELS):
            ax.plot(time, rows[column], color=color, label=label or None, drawstyle="steps-post", linewidth=width)
    for ax, (column, ylabel) in zip(axes, TIMESERIES_PANELS.items()):
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, 1 if column == "hit_ratio" else None)
    axes[-1].set_xlabel("time (h)" if hours else "time (s)")
    if len(groups) > 1:
        place_legends(fig, {axes[0]: "best"}, ncols=min(len(groups), 4))
        caption(fig, [LAYERED])
    return fig
