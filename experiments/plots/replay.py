"""The figures of a `kvsim replay --out DIR` grid, drawn from its files (replay.csv, reduction.csv).

miss_ratio   miss ratio against cache size, a line per policy: on one trace its
             miss ratios; on several the median over the traces, with the band
             from the 25th to the 75th percentile (sizes given as shares of the
             footprint are then one axis for every trace); a panel per unit
             (objects, bytes) when both were asked
reduction    several traces with FIFO among the policies: each policy's
             miss-ratio reduction from FIFO over the traces, a panel per size,
             as the S3-FIFO and SIEVE papers draw it: a box from the 25th to
             the 75th percentile, whiskers to the 10th and 90th, a bar at the
             median

`kvsim plot DIR` redraws them from the same files, with the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.plots.labels import bytes_axis
from experiments.plots.style import STYLE, colors, marker, remove_figures, save

TABLE, REDUCTION = "replay.csv", "reduction.csv"
FIGURES = ("miss_ratio", "reduction")
#: panels of the across-trace figure at most (the sizes evenly picked beyond that)
MOST_PANELS = 6


def holds_grid(out: Path) -> bool:
    return (Path(out) / TABLE).exists()


def remove(out: Path) -> None:
    remove_figures(Path(out), FIGURES)


def draw(out: Path) -> list[Path]:
    """Draw DIR's figures from replay.csv (and reduction.csv); returns the files written."""
    out = Path(out)
    table = pd.read_csv(out / TABLE, dtype={"capacity": str})
    written = []
    with plt.rc_context(STYLE):
        written += save(miss_ratio_figure(table), out / "miss_ratio")
        if (out / REDUCTION).exists():
            reduction = pd.read_csv(out / REDUCTION, dtype={"capacity": str})
            written += save(reduction_figure(reduction, list(dict.fromkeys(table["policy"]))), out / "reduction")
        else:
            remove_figures(out, ["reduction"])
    return written


def _percent(capacity: str) -> float | None:
    text = str(capacity).strip().rstrip("B")
    return float(text[:-1]) if text.endswith("%") else None


def miss_ratio_figure(table: pd.DataFrame):
    units = list(dict.fromkeys(table["unit"]))
    traces = table["trace"].nunique()
    fig, axes = plt.subplots(1, len(units), figsize=(6.4 * len(units), 4.2), layout="constrained", squeeze=False)
    policies = list(dict.fromkeys(table["policy"]))
    palette = colors(len(policies))
    for ax, unit in zip(axes.flat, units):
        part = table[table["unit"] == unit]
        shares = part["capacity"].map(_percent)
        x_column = "percent" if traces > 1 and shares.notna().all() else "size"
        part = part.assign(percent=shares)
        for index, policy in enumerate(policies):
            mine = part[part["policy"] == policy]
            by_size = mine.groupby(x_column)["miss_ratio"]
            x = np.array(sorted(by_size.groups), dtype=float)
            median = by_size.median().reindex(x).to_numpy()
            ax.plot(x, median, marker=marker(index), markersize=4, color=palette[index], label=policy)
            if traces > 1:
                low, high = by_size.quantile(0.25).reindex(x), by_size.quantile(0.75).reindex(x)
                ax.fill_between(x, low, high, color=palette[index], alpha=0.15, linewidth=0)
        xs = part["percent"] if x_column == "percent" else part["size"]
        log = xs.min() > 0 and xs.max() / xs.min() >= 20
        if log:
            ax.set_xscale("log")
        if x_column == "percent":
            of = "distinct bytes" if unit == "bytes" else "distinct objects"
            ax.set_xlabel(f"cache size (% of each trace's {of})")
        else:
            if unit == "bytes":
                bytes_axis(ax.xaxis, log)
            ax.set_xlabel(f"cache size ({unit})")
        ax.set_ylabel("miss ratio" + (" (median over traces)" if traces > 1 else ""))
        ax.set_ylim(0, 1.02)
        ax.legend(title="policy")
    name = table["trace"].iloc[0] if traces == 1 else f"{traces} traces (band: 25th to 75th percentile)"
    fig.suptitle(f"miss ratio against cache size: {name}", fontsize=10)
    return fig


def reduction_figure(reduction: pd.DataFrame, every_policy: list[str]):
    """The across-trace figure; `every_policy`: the grid's policies in order (FIFO too), for the colours."""
    sizes = list(dict.fromkeys(reduction["capacity"]))
    if len(sizes) > MOST_PANELS:
        sizes = [sizes[i] for i in np.linspace(0, len(sizes) - 1, MOST_PANELS).round().astype(int)]
    policies = [policy for policy in every_policy if policy in set(reduction["policy"])]
    palette = [colors(len(every_policy))[every_policy.index(policy)] for policy in policies]
    fig, axes = plt.subplots(
        1,
        len(sizes),
        figsize=(max(4.0, 0.6 * len(policies) + 1.5) * len(sizes), 4.2),
        layout="constrained",
        squeeze=False,
        sharey=True,
    )
    for ax, size in zip(axes.flat, sizes):
        part = reduction[reduction["capacity"] == size].set_index("policy")
        for index, policy in enumerate(policies):
            if policy not in part.index:
                continue
            row = part.loc[policy]
            ax.vlines(index, row["p10"], row["p90"], color=palette[index], linewidth=1.2)
            ax.add_patch(
                plt.Rectangle(
                    (index - 0.3, row["p25"]),
                    0.6,
                    row["p75"] - row["p25"],
                    facecolor=palette[index],
                    alpha=0.35,
                    edgecolor=palette[index],
                )
            )
            ax.hlines(row["p50"], index - 0.3, index + 0.3, color="black", linewidth=1.6)
        ax.axhline(0, color="0.4", linewidth=0.8, linestyle="--")
        ax.set_xticks(range(len(policies)), policies, rotation=30, ha="right")
        ax.set_xlim(-0.7, len(policies) - 0.3)
        traces = int(part["traces"].max()) if len(part) else 0
        ax.set_title(f"size {size} ({traces} traces)")
    axes.flat[0].set_ylabel("miss-ratio reduction from FIFO")
    fig.suptitle(
        "miss-ratio reduction from FIFO over traces: box 25th-75th percentile, whiskers 10th-90th, bar the median",
        fontsize=10,
    )
    return fig
