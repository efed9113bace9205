"""The frame of a figure: its title, the line saying what was held fixed, and the notes beneath.

A note is what a reader needs to read the figure right and could not see
in it: a theory curve's assumption and where the simulation leaves it,
bands too narrow to see, lines drawn over each other, panels left out
because they would repeat another.  Notes are written under the panels.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt

from experiments.plots.labels import tick_label
from experiments.plots.style import PANEL
from experiments.plots.tables import Tables

#: characters per inch of figure width in the title and notes (their font sizes)
TITLE_CHARACTERS, NOTE_CHARACTERS = 14, 17

NOTE_POINTS = 8  # the notes' font size


def figure(
    tables: Tables,
    title: str,
    panels: int = 1,
    rows: int = 1,
    width: float | None = None,
    height: float | None = None,
    intervals: str = "bands",
):
    """A figure of `panels` axes with the experiment's title and the fixed config beneath it.

    `intervals` says how its 95% confidence intervals look ("bands",
    "whiskers"), or is empty for a figure without them.
    """
    columns = panels // rows
    per_panel = PANEL[0] if columns == 1 else 5.2  # side by side, panels can be narrower
    size = (width or per_panel * columns, height or PANEL[1] * rows * (0.75 if rows > 1 else 1))
    fig, axes = plt.subplots(rows, columns, figsize=size, layout="constrained", squeeze=False, sharex=rows > 1)
    context = textwrap.fill(describe(tables, intervals), width=int(size[0] * TITLE_CHARACTERS))
    fig.suptitle(f"{tables.name}: {title}\n{context}", fontsize=10)
    return fig, list(axes.flat)


def caption(fig, notes) -> None:
    """Write `notes` (each once, in order) under the figure's panels, wrapped to its width."""
    notes = list(dict.fromkeys(note for note in notes if note))
    if not notes:
        return
    width = int(fig.get_figwidth() * NOTE_CHARACTERS)
    text = "\n".join(textwrap.fill(note, width=width) for note in notes)
    # supxlabel takes part in the constrained layout: the panels make room for it, and the
    # figure grows by the notes' height so that the panels keep theirs.
    fig.supxlabel(text, fontsize=NOTE_POINTS, x=0.01, ha="left", multialignment="left", color="0.25")
    lines = text.count("\n") + 1
    fig.set_figheight(fig.get_figheight() + lines * NOTE_POINTS * 1.3 / 72 + 0.1)


def describe(tables: Tables, intervals: str = "") -> str:
    """One line saying what was held fixed, for a figure's subtitle; `intervals` names how CIs are drawn."""
    config, swept = tables.config, set(tables.swept)
    workload, cluster = config["workload"], config["cluster"]
    parts = []
    if "cluster.nodes" not in swept:
        parts.append(f"{cluster['nodes']} node" + ("s" if cluster["nodes"] != 1 else ""))
    if "cluster.capacity" not in swept:
        parts.append(f"capacity {tick_label(cluster['capacity'])}/node")
    if "cluster.policy" not in swept:
        parts.append(str(cluster["policy"]))
    if "cluster.ttl" not in swept and cluster["ttl"] and not isinstance(cluster["ttl"], dict):
        parts.append(f"TTL {cluster['ttl']} s")
    if workload.get("trace"):
        parts.append(f"trace {Path(workload['trace']).name}")
    elif workload.get("classes"):
        parts.append(
            f"{len(workload['classes'])} key classes (" + ", ".join(c["name"] for c in workload["classes"]) + ")"
        )
    elif workload["popularity"] == "zipf":
        alpha = "" if "workload.alpha" in swept else f"({workload['alpha']})"
        parts.append(f"Zipf{alpha} over {workload['keys']:,} keys" if "workload.keys" not in swept else f"Zipf{alpha}")
    else:
        parts.append("uniform keys")
    if "workload.rate" not in swept and not (workload.get("trace") and workload.get("trace_arrivals") == "timestamps"):
        parts.append(f"{workload['rate']:,} req/s")
    parts.append(f"{tables.seeds} seed" + ("s" if tables.seeds != 1 else ""))
    line = ", ".join(parts)
    return f"{line}; {intervals}: 95% CI" if intervals and tables.seeds > 1 else line
