"""Curves of a metric against a numeric swept key: capacity, TTL, node count, or any other.

A line per combination of the other swept keys, with its 95% confidence band
clipped to what the metric can be (a hit ratio within [0, 1], the busiest
node at least the mean); a theory curve beneath where it applies
(experiments/plots/overlays.py).  What a reader could not see is said in a note under
the figure: lines lying on each other (the later one is drawn hollow and
dashed over the earlier), bands narrower than the markers, the theory's
assumptions and the points where the run leaves them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from experiments.output.tables import SATURATION, UTILISATION
from experiments.plots import overlays
from experiments.plots.bars import bars_figure
from experiments.plots.frame import caption, figure
from experiments.plots.labels import (
    DOMAINS,
    LABELS,
    METRICS,
    dense,
    numeric_axis,
    plain_log_ticks,
    set_x_axis,
    spans_decades,
    tick_label,
)
from experiments.plots.style import colors, marker, place_legends
from experiments.plots.tables import Tables, config_at, series

#: a marker's size as a fraction of a panel's height: lines closer than this lie on each other,
#: and a band narrower than this hides behind its markers
MARKER_HEIGHT = 0.025

#: a steady-state theory curve is drawn beside the one for the runs' warm-up when they differ by more
STEADY_GAP = 0.005


class Scale:
    """Where values land along a panel's axis, as a fraction of its length (0 bottom or left, 1 top or right)."""

    def __init__(self, values, log: bool, low: float | None = None, high: float | None = None):
        values = np.asarray(values, float)
        values = values[np.isfinite(values)]
        self.log = log
        ends = np.log10(values) if log else values
        self.low = low if low is not None else float(ends.min()) if len(ends) else 0.0
        self.high = high if high is not None else float(ends.max()) if len(ends) else 1.0

    @classmethod
    def of_metric(cls, metric: str, means) -> Scale:
        """The y axis of `metric`: [0, 1] for a hit ratio, log when the values span decades, else from 0."""
        if metric == "hit_ratio":
            return cls(means, log=False, low=0.0, high=1.0)
        if spans_decades(means):
            return cls(means, log=True)
        return cls(means, log=False, low=0.0)

    def fraction(self, values) -> np.ndarray:
        values = np.asarray(values, float)
        if self.log:
            values = np.log10(np.maximum(values, 1e-300))
        return (values - self.low) / max(self.high - self.low, 1e-12)

    def apply(self, ax, metric: str) -> None:
        """Set the panel's y axis to this scale."""
        if metric == "hit_ratio":
            ax.set_ylim(0, 1)
        elif self.log:
            ax.set_yscale("log")  # a saturated backend's seconds and a cache's milliseconds, both legible
            plain_log_ticks(ax.yaxis, 10.0**self.low, 10.0**self.high)
        else:  # from 0, with room above the highest point (autoscaling's margin is a share of the data's range)
            ax.set_ylim(0, max(ax.get_ylim()[1], 1.05 * self.high))


@dataclass
class Line:
    """One simulated series of a panel: its points and their 95% CI half-widths (0 with one seed)."""

    name: str
    x: np.ndarray
    mean: np.ndarray
    half: np.ndarray


def curve_panel(ax, tables: Tables, x_key: str, metric: str, overlay: overlays.Overlay | None = None) -> list[str]:
    """`metric` (mean, clipped 95% CI band) against `x_key`, a line per combination of the other swept keys.

    Returns the notes the panel needs (see the module docstring).
    """
    title, ylabel = METRICS[metric]
    groups = series(tables.summary, tables.swept, x_key)
    scale = Scale.of_metric(metric, tables.summary[f"{metric}_mean"])
    lines, notes, hidden = [], [], []
    for index, (color, (label, _, rows)) in enumerate(zip(colors(len(groups)), groups)):
        line = Line(
            label or "simulation",
            numeric_axis(rows[x_key].tolist()),
            rows[f"{metric}_mean"].to_numpy(float),
            np.nan_to_num(rows[f"{metric}_ci95"].to_numpy(float)),
        )
        notes += draw_line(ax, scale, line, lines, {"marker": marker(index), "color": color}, title)
        hidden += draw_band(ax, scale, line, metric, color)
        lines.append(line)
    if overlay is not None:
        notes += draw_overlay(ax, tables, overlay, groups)
    if metric.endswith("_ms"):
        notes += mark_saturated(ax, groups, x_key, metric, title)
    if sum(hidden) > len(hidden) / 2:  # most of the bands the subtitle promises cannot be seen
        where = "" if all(hidden) else f" at {sum(hidden)} of {len(hidden)} points"
        notes.append(f"{title}: the 95% confidence bands are drawn, but{where} they are narrower than the markers.")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    set_x_axis(ax, x_key, tables.summary[x_key].tolist())
    scale.apply(ax, metric)
    if len(ax.get_legend_handles_labels()[0]) > 1:
        place_legends(ax.figure, {ax: emptier_corner(scale, lines)})
    return notes


def mark_saturated(ax, groups, x_key: str, metric: str, title: str) -> list[str]:
    """Ring the points whose offered load reaches a server's capacity, and say what that means for a latency.

    There the queue grows for as long as the run lasts, so the latency
    measures the run's length as much as the system (experiments/output/tables.py).
    """
    columns = [column for column in UTILISATION if column in groups[0][2].columns] if groups else []
    ringed = 0
    for _, _, rows in groups:
        over = np.zeros(len(rows), dtype=bool)
        for column in columns:
            over |= rows[column].to_numpy(float) >= SATURATION
        if over.any():
            x = numeric_axis(rows[x_key].tolist())
            ax.plot(
                np.asarray(x)[over], rows[f"{metric}_mean"].to_numpy(float)[over], linestyle="none", marker="o",
                markersize=16, markerfacecolor="none", markeredgecolor="red", markeredgewidth=1.5, zorder=4,
                label="saturated" if not ringed else None,
            )  # fmt: skip
            ringed += int(over.sum())
    if not ringed:
        return []
    return [
        f"{title}: ringed in red, {ringed} point(s) where offered load reaches capacity (utilisation >= "
        f"{SATURATION:g}): the queue grows for as long as the run lasts, so there the latency measures the "
        "run's length."
    ]


def draw_line(ax, scale: Scale, line: Line, earlier: list[Line], style: dict, title: str) -> list[str]:
    """Draw `line`: hollow and dashed where it would hide a point of an `earlier` one; a note if it hides all."""
    overlaps = [(other.name, close(scale, line, other)) for other in earlier]
    if any(points.any() for _, points in overlaps):
        style = {**style, "markerfacecolor": "none", "markersize": 9, "linestyle": "--"}
    ax.plot(line.x, line.mean, label=line.name, zorder=3, **style)
    under = next((other for other, (_, points) in zip(earlier, overlaps) if points.all()), None)
    if under is None:
        return []
    return [
        f"{title}: {line.name} {how_far(line, under)} (closer than a marker's height), drawn hollow and dashed over it."
    ]


def how_far(line: Line, under: Line) -> str:
    """Where `line` lies against `under`, which it hides, in the metric's units: "lies 0.004 to 0.011 above lru".

    A gap the eye cannot see is still a result (clock above lru at every size), so the note
    says it rather than "lies on".
    """
    gaps = np.array([mean - under.mean[under.x == x][0] for x, mean in zip(line.x, line.mean)], float)
    if not gaps.any():
        return f"has the same values as {under.name}"
    if (gaps >= 0).all() or (gaps <= 0).all():
        near, far = gap_text(np.abs(gaps).min()), gap_text(np.abs(gaps).max())
        span = far if near == far else f"{near} to {far}"
        return f"lies {span} {'above' if gaps.sum() > 0 else 'below'} {under.name}"
    return f"lies within {gap_text(np.abs(gaps).max())} of {under.name}, above and below"


def gap_text(gap: float) -> str:
    """A gap between two lines, to two significant digits: 0.011, 0.0042, 3.5, 120."""
    return f"{gap:.2g}" if gap < 100 else f"{gap:,.0f}"


def draw_band(ax, scale: Scale, line: Line, metric: str, color) -> list[bool]:
    """The 95% CI band, clipped to the metric's domain; for each point, whether it is too narrow to see."""
    if not line.half.any():
        return []
    low, high = DOMAINS.get(metric, (-np.inf, np.inf))
    bottom, top = np.clip(line.mean - line.half, low, high), np.clip(line.mean + line.half, low, high)
    ax.fill_between(line.x, bottom, top, color=color, alpha=0.2, linewidth=0)
    return (scale.fraction(top) - scale.fraction(bottom) < MARKER_HEIGHT).tolist()


#: legend corners, in order of preference when several are as empty
CORNERS = {"lower right": (1, 0), "upper left": (0, 1), "upper right": (1, 1), "lower left": (0, 0)}


def emptier_corner(scale: Scale, lines: list[Line]) -> str:
    """The legend's corner: the one with the fewest points in its quarter of the panel."""
    every_x = np.concatenate([line.x for line in lines])
    across = Scale(every_x, log=spans_decades(every_x))
    points = [(across.fraction(line.x), scale.fraction(line.mean)) for line in lines]

    def crowd(corner: str) -> int:
        right, top = CORNERS[corner]
        return sum(
            int(np.sum(((x >= 0.45) if right else (x <= 0.55)) & ((y >= 0.55) if top else (y <= 0.45))))
            for x, y in points
        )

    return min(CORNERS, key=crowd)  # the first of the emptiest


def close(scale: Scale, line: Line, other: Line) -> np.ndarray:
    """For each point of `line`: whether `other` has a point at its x closer than a marker's height."""
    near = np.zeros(len(line.x), dtype=bool)
    for position, value in zip(other.x, scale.fraction(other.mean)):
        near |= (line.x == position) & (np.abs(scale.fraction(line.mean) - value) < MARKER_HEIGHT)
    return near


def draw_overlay(ax, tables: Tables, overlay: overlays.Overlay, groups) -> list[str]:
    """The overlay's curve beneath the simulated ones; returns its notes (assumption, saturated points)."""
    grid = dense(numeric_axis(tables.summary[overlay.key].tolist()))
    predictions = []  # (series label, colour, predicted, steady state or None)
    for color, (label, values, _) in zip(colors(len(groups)), groups):
        config = config_at(tables, values)
        predicted = overlay.curve(config, grid)
        if predicted is not None and np.isfinite(predicted).sum() > 1:  # a line, not a lone point
            steady = overlay.curve(config, grid, overlay.steady) if overlay.steady else None
            far = steady is not None and np.nanmax(np.abs(steady - predicted)) > STEADY_GAP
            predictions.append((label, color, predicted, steady if far else None))
    if not predictions:
        return []
    first = predictions[0][2]
    one_curve = len(predictions) == len(groups) and all(
        np.array_equal(first, p[2], equal_nan=True) for p in predictions
    )
    for label, color, predicted, steady in predictions[:1] if one_curve else predictions:
        name = overlay.label if one_curve or not label else f"{label}: {overlay.label}"
        color = "0.2" if one_curve else color
        # Wide and beneath: a simulated line lying on the curve stays visible inside it.
        ax.plot(grid, predicted, linestyle="--", color=color, linewidth=2.4, alpha=0.55, label=name, zorder=2)
        if steady is not None:
            ax.plot(grid, steady, linestyle=":", color=color, linewidth=1.4, label=f"{name}, steady state", zorder=2)
    notes = [overlay.note]
    if any(steady is not None for *_, steady in predictions):
        notes.append(
            f"Dotted: the steady state, which a warm-up of {tables.config['run']['warmup']:,} requests does not "
            "reach where the cache is large: measurement starts while it is still filling."
        )
    return notes + saturation_note(tables, overlay, groups)


def saturation_note(tables: Tables, overlay: overlays.Overlay, groups) -> list[str]:
    """A note naming the points where the predicted misses reach what the backend serves (overlays.saturation)."""
    found = {}  # swept value -> (misses/s, served/s)
    for _, values, rows in groups:
        config = config_at(tables, values)
        for value in rows[overlay.key].tolist():
            point = overlay.at(config, value)
            predicted = overlay.predict(point)
            loads = None if predicted is None else overlays.saturation(point, predicted)
            if loads:
                found.setdefault(value, loads)
    if not found:
        return []
    misses, served = max(m for m, _ in found.values()), min(s for _, s in found.values())
    return [
        f"The backend is saturated at {LABELS.get(overlay.key, overlay.key)} {', '.join(map(tick_label, found))}: "
        f"the predicted hit ratio leaves {'up to ' if len(found) > 1 else ''}{misses:,.0f} misses/s for a backend "
        f"that serves {served:,.0f}/s. Its queue grows, fills arrive late, and the simulation falls below the curve."
    ]


# -- the figures ----------------------------------------------------------------


def capacity_curve(tables: Tables):
    fig, (ax,) = figure(tables, "hit ratio vs capacity per node")
    caption(fig, curve_panel(ax, tables, "cluster.capacity", "hit_ratio", overlays.LRU_CAPACITY))
    return fig


def p99_capacity(tables: Tables):
    fig, (ax,) = figure(tables, "p99 latency vs capacity per node")
    caption(fig, curve_panel(ax, tables, "cluster.capacity", "p99_ms"))
    return fig


def ttl_curve(tables: Tables):
    fig, (hit, p99) = figure(tables, "hit ratio and p99 latency vs TTL", panels=2)
    notes = curve_panel(hit, tables, "cluster.ttl", "hit_ratio", overlays.TTL)
    caption(fig, notes + curve_panel(p99, tables, "cluster.ttl", "p99_ms"))
    return fig


def node_scaling(tables: Tables):
    fig, axes = figure(tables, "scaling out: nodes of fixed capacity", panels=3)
    notes = []
    for ax, metric in zip(axes, ("hit_ratio", "p99_ms", "imbalance")):
        notes += curve_panel(ax, tables, "cluster.nodes", metric, overlays.LRU_NODES if metric == "hit_ratio" else None)
    axes[2].axhline(1.0, color="grey", linewidth=1, linestyle=":")
    caption(fig, notes)
    return fig


def sweep_curve(tables: Tables):
    """Hit ratio and p99 against the first swept key: curves for numbers, bars for categories."""
    key = tables.swept[0]
    title = f"hit ratio and p99 latency vs {LABELS.get(key, key)}"
    if numeric_axis(tables.summary[key].tolist()) is None:
        return bars_figure(tables, key, title)
    fig, (hit, p99) = figure(tables, title, panels=2)
    caption(fig, curve_panel(hit, tables, key, "hit_ratio") + curve_panel(p99, tables, key, "p99_ms"))
    return fig
