"""Hit ratio, p99 and backend load over simulated time (DIR/timeseries.csv), a line per sweep point.

When the fleet changed during a run (DIR/fleet.csv has rows), a panel of
the nodes serving goes on top, and every change is marked across the
panels at its time: a solid line where nodes joined, left or were resized,
a dotted one where a node went down or came back (a failure, a restart),
in grey, or, when a sweep draws several lines, in the colour of the line
whose runs it happened in.

The p99 panel is on a log scale: a saturated point's p99 of seconds would
otherwise flatten every other line into a band at the bottom.  The backend
panel draws a dashed line at what the backend can serve (its concurrency
over its mean latency): load that reaches it queues without end; where
that is more than FAR_ABOVE times the highest load, the panel says so in
words instead of squashing the load flat under a line far above it.  Each line
is the mean of its point's runs, and the note under the panels says over
how many seeds; the changes of the fleet are named above the top panel
when they are few, and the note says what the marks' styles mean.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from experiments.plots.frame import caption, figure
from experiments.plots.labels import plain_log_ticks
from experiments.plots.overlays import backend_capacity
from experiments.plots.style import LAYERED, PANEL, colors, layered_widths, place_legends
from experiments.plots.tables import Tables, config_at, series

#: the time-series columns (of sim.metrics.TIMESERIES) drawn over time, a panel each, and their axis labels
TIMESERIES_PANELS = {"hit_ratio": "hit ratio", "p99_ms": "p99 latency (ms)", "backend_rps": "backend load (requests/s)"}

#: the panel on top when the fleet changed
FLEET_PANEL = {"nodes": "nodes serving"}

#: the colour of the marks of a figure of one line (with several, each line's marks take its colour)
MARK_COLOR = "0.55"

#: the kinds of fleet.csv rows marked with a solid line (the others, down and up, dotted)
PLANNED_KINDS = ("add", "remove", "capacity")

#: what a fleet.csv row's kind says of its nodes, above the top panel ("node 0 down")
CHANGE_WORDS = {"add": "joins", "remove": "leaves", "capacity": "resized", "down": "down", "up": "back"}

#: the changes are named above the top panel when they happen at this many times or fewer (more would
#: overlap: a rolling restart's, an autoscaler's); the note says what the marks mean in any case
NAMED_CHANGES = 6

#: the colour of the backend's capacity line when every line shares it
CAPACITY_COLOR = "0.3"

#: a backend capacity more than this many times the highest load is said in words, not drawn: a line
#: there would squash the load into a flat line at the bottom of the panel
FAR_ABOVE = 6


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
    capacities = [backend_capacity(config_at(tables, values)) for _, values, _ in groups]
    for ax, (column, ylabel) in zip(axes, shown.items()):
        ax.set_ylabel(ylabel)
        if column == "nodes":
            ax.set_ylim(0, frame[column].max() + 1)
        elif column == "p99_ms":
            ax.set_yscale("log")
            positive = frame[column][frame[column] > 0]
            plain_log_ticks(ax.yaxis, positive.min(), positive.max())
        elif column == "backend_rps":
            draw_capacities(ax, capacities, colors(len(groups)), frame[column].max())
        else:
            ax.set_ylim(0, 1)
    axes[-1].set_xlabel("time (h)" if hours else "time (s)")
    notes = [LAYERED if len(groups) > 1 else ""]
    seeds = whole["seed"].nunique()
    notes.append(f"Each line is averaged over {seeds} seeds." if seeds > 1 else "")
    if changes is not None:
        named = name_changes(axes[0], changes, scale)
        notes.append(marks_note(changes, named))
    if len(groups) > 1:
        place_legends(fig, {axes[0]: "best"}, ncols=min(len(groups), 4))
    caption(fig, notes)
    return fig


def draw_capacities(ax, capacities: list[float], palette, highest: float) -> None:
    """A dashed line at each line's backend capacity (one grey line when they share it), named at its right;
    a capacity beyond FAR_ABOVE times the highest load is said in words instead (module docstring)."""
    finite = [(capacity, color) for capacity, color in zip(capacities, palette) if math.isfinite(capacity)]
    if not finite:  # a backend of 0 ms serves without bound
        ax.set_ylim(0, None)
        return
    if min(capacity for capacity, _ in finite) > FAR_ABOVE * highest:
        ax.set_ylim(0, None)
        least = min(capacity for capacity, _ in finite)
        ax.annotate(
            f"backend capacity {least:,.0f}/s{' or more' if len({c for c, _ in finite}) > 1 else ''}: "
            f"{least / highest:,.0f}x the highest load, off the panel",
            xy=(1, 1),
            xycoords="axes fraction",
            xytext=(-4, -4),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8,
            color=CAPACITY_COLOR,
        )
        return
    shared = len({capacity for capacity, _ in finite}) == 1
    for capacity, color in finite[:1] if shared else finite:
        ax.axhline(capacity, color=CAPACITY_COLOR if shared else color, linestyle="--", linewidth=1.0)
        ax.annotate(
            f"backend capacity {capacity:,.0f}/s",
            xy=(1, capacity),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=8,
            color=CAPACITY_COLOR if shared else color,
        )
    ax.set_ylim(0, 1.12 * max(highest, *(capacity for capacity, _ in finite)))


def name_changes(ax, changes: pd.DataFrame, scale: float) -> bool:
    """Above `ax`, at each change's time, what changed ("node 0 down"), when there are at most NAMED_CHANGES
    times (each sweep point's, all seeds: one name where they agree); whether they were named."""
    seen = changes.drop_duplicates(["time_s", "kind", "node_ids"]).sort_values("time_s", kind="stable")
    if seen["time_s"].nunique() > NAMED_CHANGES:
        return False
    for time, rows in seen.groupby("time_s", sort=True):
        words = [
            f"{node_words(ids)} {CHANGE_WORDS.get(kind, kind)}" for kind, ids in zip(rows["kind"], rows["node_ids"])
        ]
        ax.annotate(
            "; ".join(words),
            xy=(time / scale, 1),
            xycoords=("data", "axes fraction"),
            xytext=(2, 2),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=8,
            color="0.25",
        )
    return True


def node_words(ids) -> str:
    """fleet.csv's node_ids ("0", "2 3") as words: "node 0", "nodes 2 3"."""
    text = "" if ids is None or (isinstance(ids, float) and np.isnan(ids)) else str(ids).strip()
    if not text:
        return "nodes"
    return f"node {text}" if len(text.split()) == 1 else f"nodes {text}"


def marks_note(changes: pd.DataFrame, named: bool) -> str:
    """What the vertical marks mean, for the kinds this figure has."""
    planned = changes["kind"].isin(PLANNED_KINDS)
    styles = []
    if planned.any():
        styles.append("solid: nodes joined, left or were resized")
    if (~planned).any():
        styles.append("dotted: a node went down or came back (a failure, a restart)")
    where = ", each named above the top panel" if named else ""
    return f"Vertical lines mark the fleet's changes{where}; {'; '.join(styles)}."


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
