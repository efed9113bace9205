"""The cost-against-service figure: what each sweep point's fleet cost, and how long it missed its targets.

Drawn for a sweep over [autoscale] keys (static fleets against an autoscaler
or a schedule, or autoscaler settings against each other): one point per
sweep point at (node-hours, minutes over target), the means over seeds of
summary.csv's node_seconds and violation_s.  Down and to the left is better;
the points on the lower-left edge are the ones worth choosing between.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from experiments.plots.frame import caption, figure
from experiments.plots.labels import point_label
from experiments.plots.style import colors, marker
from experiments.plots.tables import Tables


def cost_service(tables: Tables) -> plt.Figure:
    fig, (ax,) = figure(tables, "cost against service, a point per fleet", intervals="")
    summary, swept = tables.summary, tables.swept
    palette = colors(len(summary))
    for index, (_, row) in enumerate(summary.iterrows()):
        hours, minutes = row["node_seconds_mean"] / 3600.0, row["violation_s_mean"] / 60.0
        label = point_label(swept, [row[key] for key in swept])
        ax.plot([hours], [minutes], linestyle="none", marker=marker(index), color=palette[index], label=label)
    ax.set_xlabel("node-hours (members and provisioning nodes)")
    ax.set_ylabel("minutes over target")
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.legend(fontsize=8)
    targets = tables.config.get("targets", {})
    wanted = []
    if targets.get("p99_ms"):
        wanted.append(f"p99 <= {targets['p99_ms']:g} ms")
    if targets.get("hit_ratio"):
        wanted.append(f"hit ratio >= {targets['hit_ratio']:g}")
    caption(fig, [f"minutes over target: the rows of timeseries.csv that miss {' or '.join(wanted) or 'no target'}"])
    return fig
