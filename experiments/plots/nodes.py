"""Per-node load: each node's requests relative to the mean node, for every run.

A swept key the routing does not depend on (capacity or policy behind a
hashing balancer: every node gets the same requests whatever they are)
would repeat the same row for each of its values.  Such keys are found from
nodes.csv itself, not assumed (the load-aware balancers' choices do depend
on how fast the nodes answer), and one row stands for all their values,
with a note saying so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.plots.frame import caption, figure
from experiments.plots.labels import LABELS
from experiments.plots.tables import Tables, series


def same_load_keys(nodes: pd.DataFrame, swept: list[str]) -> list[str]:
    """The swept keys whose values all give every node of every seed the same requests."""
    same = []
    for key in swept:
        others = [k for k in swept if k != key and k not in same]
        values = nodes[key].nunique()
        per_node = nodes.groupby([*others, "seed", "node"], sort=False)["requests"]
        if values > 1 and (per_node.size() == values).all() and (per_node.nunique() == 1).all():
            same.append(key)
    return same


def node_load(tables: Tables):
    """A row of dots per sweep point (one dot per node and run) and the busiest node's mean.

    A node is a different machine in every seed (the hot keys land elsewhere),
    so runs are not averaged node by node; the red bar is the busiest node's
    load averaged over seeds, the `imbalance` of summary.csv.
    """
    same = same_load_keys(tables.nodes, tables.swept)
    nodes = tables.nodes
    for key in same:  # one value stands for all
        nodes = nodes[nodes[key] == nodes[key].iloc[0]]
    groups = series(nodes, [key for key in tables.swept if key not in same], None)
    fig, (ax,) = figure(tables, "per-node load", height=max(3.2, 2.1 + 0.3 * len(groups)), intervals="")
    highest = 1.0
    for position, (_, _, rows) in enumerate(groups):
        runs = rows.groupby("seed", sort=False)["share"]
        relative = rows["share"].to_numpy(float) * runs.transform("size").to_numpy(float)
        busiest = (runs.max() * runs.size()).mean()
        highest = max(highest, relative.max())
        first = position == 0  # label the first row's marks only, for the legend
        ax.scatter(
            relative,
            np.full(len(relative), position),
            s=16,
            color="tab:blue",
            alpha=0.45,
            linewidths=0,
            label="a node in one run" if first else None,
        )
        ax.scatter(
            [busiest],
            [position],
            s=120,
            marker="|",
            color="tab:red",
            linewidths=2,
            label="busiest node, mean over seeds" if first else None,
        )
    ax.axvline(1.0, color="grey", linewidth=1, linestyle=":")
    names = " and ".join(LABELS.get(key, key) for key in same)
    ax.set_yticks(range(len(groups)), [label or (f"every {names}" if same else "all") for label, _, _ in groups])
    ax.set_ylim(len(groups) - 0.5, -1.4)  # sweep order from the top, below a slot for the legend
    ax.set_xlim(0, max(1.5, 1.05 * highest))
    ax.set_xlabel("node's requests / mean node's (1 = even)")
    ax.set_title("Requests per node")
    ax.grid(False, axis="y")
    ax.legend(loc="upper center", ncols=2)  # in the empty slot above the first row
    if same:
        caption(
            fig,
            [
                f"The same for every {names}: each node gets the same requests whatever its value, so one row "
                "stands for all of them."
            ],
        )
    return fig
