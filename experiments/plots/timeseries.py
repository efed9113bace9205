"""Hit ratio, p99 and backend load over simulated time (DIR/timeseries.csv), a line per sweep point.

When the fleet changed during a run (DIR/fleet.csv has rows), a panel of
the nodes serving goes on top, and every change is marked across the
panels at its time: a solid line where nodes joined, left or were resized,
a dotted one where a node went down or came back (a failure, a restart),
in grey, or, when a sweep draws several lines, in the colour of the line
whose runs it happened in.

The p99 panel is on a log scale: a saturated point's p99 of seconds would
otherwise flatten every other line into a band at the bottom.  Each line is
the mean of its point's runs, and the note under the panels says over how
many seeds.
"""

from __future__ import annotations

import pandas as pd

from experiments.plots.frame import caption, figure
from experiments.plots.style import LAYERED, PANEL, colors, layered_widths, place_legends
from experiments.plots.tables import Tables, series

#: the time-series columns (of sim.metrics.TIMESERIES) drawn over time, a panel each, and their axis labels
TIMESERIES_PANELS = {"hit_ratio": "hit ratio", "p99_ms": "p99 latency (ms)", "backend_rps": "backend load (requests/s)"}

#: the panel on top when the fleet changed
FLEET_PANEL = {"nodes": "nodes serving"}

#: the colour of the marks of a figure of one line (with several, each line's marks take its colour)
MARK_COLOR = "0.55"

#: the kinds of fleet.csv rows marked with a solid line (the others, down and up, dotted)
PLANNED_KINDS = ("add", "remove", "capacity")


def timeseries(tables: Tables):
    """The panels of TIMESERIES_PANELS one above the other, sharing the time axis; runs averaged over seeds;
    with a fleet that changed, the nodes serving above them and each change marked (module docstring)."""
    keys = [key for key in tables.swept if key in tables.timeseries.columns]
    # A run's first and last intervals are partial (warm-up ends, and requests end, inside
    # them): leave them out rather than draw their few requests as a spike.
    runs = tables.timeseries.groupby(["seed", *keys], sort=False)
    whole = tables.timeseries[
        (runs["t_start"].rank(method="first") > 1) & (runs["t_start"].rank(method="first", ascending=False) > 1)
    ]
    changes = fleet_changes(tables)
    shown = {**FLEET_PANEL, **TIMESERIES_PANELS} if changes is not None else TIMESERIES_PANELS
    frame = (
        whole.groupby([*keys, "t_start"], sort=False)[list(shown)]
        .mean()
        .reset_index()
        .sort_values([*keys, "t_start"], kind="stable")
    )
    groups = series(frame, keys, None)
    panels = len(shown)
    height = 7.0 * panels / len(TIMESERIES_PANELS)
    fig, axes = figure(tables, "over time", panels=panels, rows=panels, width=2 * PANEL[0], height=height, intervals="")
    hours = frame["t_start"].max() > 3 * 3600  # a day reads better in hours
    scale = 3600 if hours else 1
    for color, width, (label, values, rows) in zip(colors(len(groups)), layered_widths(len(groups)), groups):
        if changes is not None:  # each line's own changes, in its colour when there are several
            mark_changes(axes, of_point(changes, values), scale, color if len(groups) > 1 else MARK_COLOR)
        for ax, column in zip(axes, shown):
            ax.plot(
                rows["t_start"] / scale,
                rows[column],
                color=color,
                label=label or None,
                drawstyle="steps-post",
                linewidth=width,
            )
    for ax, (column, ylabel) in zip(axes, shown.items()):
        ax.set_ylabel(ylabel)
        if column == "nodes":
            ax.set_ylim(0, frame[column].max() + 1)
        elif column == "p99_ms":
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, 1 if column == "hit_ratio" else None)
    axes[-1].set_xlabel("time (h)" if hours else "time (s)")
    seeds = whole["seed"].nunique()
    averaged = f"Each line is averaged over {seeds} seeds." if seeds > 1 else ""
    if len(groups) > 1:
        place_legends(fig, {axes[0]: "best"}, ncols=min(len(groups), 4))
    caption(fig, [LAYERED if len(groups) > 1 else "", averaged])
    return fig


def fleet_changes(tables: Tables) -> pd.DataFrame | None:
    """fleet.csv's rows when the fleet changed during some run and the time series has its nodes, else None."""
    fleet = tables.fleet
    if fleet is None or fleet.empty or "nodes" not in tables.timeseries.columns:
        return None
    return fleet


def of_point(changes: pd.DataFrame, values: dict) -> pd.DataFrame:
    """The changes of the runs of one sweep point (`values`: swept key -> value), all seeds."""
    mine = pd.Series(True, index=changes.index)
    for key, value in values.items():
        mine &= changes[key] == value
    return changes[mine]


def mark_changes(axes, changes: pd.DataFrame, scale: float, color) -> None:
    """A vertical line across every panel at each change's time: solid for planned kinds, dotted for outages."""
    for planned in (True, False):
        kinds = changes["kind"].isin(PLANNED_KINDS)
        times = sorted(set((changes.loc[kinds if planned else ~kinds, "time_s"] / scale).tolist()))
        for ax in axes:
            for when in times:
                ax.axvline(when, color=color, linewidth=0.6, alpha=0.6, linestyle="-" if planned else ":", zorder=0)
