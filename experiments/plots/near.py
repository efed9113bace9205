"""The near caches' stale reads against how late they hear of an update.

Drawn for a sweep over `near.invalidation_delay_s` (the shipped near_cache
experiment): a near cache serves its copy until the invalidation reaches
it, so every read it answers in the meantime is stale.  One line per value
of the other swept keys (a near-cache size, say), against the delay:

    left   stale near reads (summary.csv's near_stale, the mean over seeds)
    right  their share of the near hits (near_stale / near_hits): how often a
           near hit is stale

A point whose runs had no near hits (a near cache of capacity 0: the
cluster alone) has no share to draw; its line is left out and the note
says so.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from experiments.plots.frame import caption, figure
from experiments.plots.labels import LABELS, numeric_axis, point_label
from experiments.plots.style import colors, marker
from experiments.plots.tables import Tables

#: the swept key along the figure's x axis
DELAY = "near.invalidation_delay_s"


def near_stale(tables: Tables) -> plt.Figure:
    fig, (count, share) = figure(tables, "stale near reads vs invalidation delay", panels=2, intervals="")
    summary = tables.summary
    others = [key for key in tables.swept if key != DELAY]
    groups = list(summary.groupby(others, sort=False)) if others else [((), summary)]
    palette, empty = colors(len(groups)), []
    if "near_stale_mean" not in summary:  # a folder written before summary.csv had the near caches' counts
        caption(fig, ["summary.csv has no near_stale column (written by an older kvsim): run the experiment again."])
        return fig
    for index, (values, rows) in enumerate(groups):
        values = values if isinstance(values, tuple) else (values,)
        label = point_label(others, list(values)) if others else "near cache"
        if not (rows["near_hits_mean"] > 0).any():
            empty.append(label)
            continue
        order = np.argsort(numeric_axis(rows[DELAY].tolist()))
        rows = rows.iloc[order]
        delays = numeric_axis(rows[DELAY].tolist())
        style = dict(marker=marker(index), color=palette[index], label=label)
        count.plot(delays, rows["near_stale_mean"], **style)
        share.plot(delays, rows["near_stale_mean"] / rows["near_hits_mean"], **style)
    for ax, what in ((count, "stale near reads (per run)"), (share, "share of near hits that were stale")):
        ax.set_xlabel(LABELS[DELAY])
        ax.set_ylabel(what)
        ax.set_ylim(bottom=0.0)
        if ax.get_lines():
            ax.legend(fontsize=8)
    notes = ["A near cache hears of a write or a bulk update invalidation_delay_s late and serves its copy until then."]
    if empty:
        notes.append(f"Not drawn, no near hits (no near cache): {'; '.join(empty)}.")
    caption(fig, notes)
    return fig
