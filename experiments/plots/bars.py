"""Bars for categorical sweeps: a bar per value (a policy, a balancer), grouped by the other swept values.

A categorical value has no order and nothing between two values, so it is
never drawn as a line.  Whiskers are 95% confidence intervals, clipped to
what the metric can be (labels.DOMAINS).
"""

from __future__ import annotations

import numpy as np

from experiments.plots.frame import figure
from experiments.plots.labels import DOMAINS, LABELS, METRICS
from experiments.plots.style import PANEL, colors
from experiments.plots.tables import Tables, series

#: more bars than this and their value labels collide
MAX_LABELLED_BARS = 16


def bar_panel(ax, tables: Tables, key: str, metric: str) -> None:
    """`metric` per value of `key` (bars with clipped 95% CI whiskers), in a group per combination of the others.

    Without other swept keys there is one group: a bar per value, named on the axis.
    """
    groups = series(tables.summary, tables.swept, key)
    categories = list(dict.fromkeys(tables.summary[key]))
    alone = len(groups) == 1
    width = 0.6 if alone else 0.8 / len(categories)
    for offset, (category, color) in enumerate(zip(categories, colors(len(categories)))):
        rows = [rows[rows[key] == category] for _, _, rows in groups]
        means = np.array([row[f"{metric}_mean"].iloc[0] if len(row) else np.nan for row in rows], float)
        halves = np.nan_to_num([row[f"{metric}_ci95"].iloc[0] if len(row) else np.nan for row in rows])
        x = (
            np.array([offset], float)
            if alone
            else np.arange(len(groups)) + (offset - (len(categories) - 1) / 2) * width
        )
        bars = ax.bar(
            x, means, width, color=color, label=str(category), yerr=whiskers(metric, means, halves), capsize=3
        )
        if len(groups) * len(categories) <= MAX_LABELLED_BARS:
            ax.bar_label(bars, fmt="%.3f" if metric == "hit_ratio" else "%.1f", fontsize=7, padding=2)
    title, ylabel = METRICS[metric]
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if alone:
        ax.set_xticks(range(len(categories)), [str(category) for category in categories])
        ax.set_xlabel(LABELS.get(key, key))
    else:
        ax.set_xticks(range(len(groups)), [label for label, _, _ in groups])
    ax.grid(False, axis="x")
    if metric == "hit_ratio":
        ax.set_ylim(0, 1)


def whiskers(metric: str, means: np.ndarray, halves: np.ndarray) -> list | None:
    """Error bar lengths below and above each mean: its 95% CI clipped to the metric's domain (None if none)."""
    if not halves.any():
        return None
    low, high = DOMAINS.get(metric, (-np.inf, np.inf))
    return [means - np.clip(means - halves, low, high), np.clip(means + halves, low, high) - means]


def bars_figure(tables: Tables, key: str, title: str):
    """Hit ratio above p99, a bar per value of `key`: the figure of a categorical sweep."""
    groups = len(series(tables.summary, tables.swept, key))
    categories = tables.summary[key].nunique()
    width = min(12.0, max(PANEL[0], 2.0 + 0.3 * groups * categories))
    fig, axes = figure(tables, title, panels=2, rows=2, width=width, intervals="whiskers")
    for ax, metric in zip(axes, ("hit_ratio", "p99_ms")):
        bar_panel(ax, tables, key, metric)
        ax.label_outer()  # the panels share their x axis: name it once, below
    if groups > 1:
        axes[0].legend(title=LABELS.get(key, key), ncols=min(categories, 5), loc="upper left")
    return fig


def policy_compare(tables: Tables):
    """Grouped bars: a bar per policy, a group per combination of the other swept values."""
    return bars_figure(tables, "cluster.policy", "eviction policies compared")
