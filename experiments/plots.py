"""Plots of an experiment's results, drawn from its summary table.

Each function takes tables and a path and writes one figure; nothing here
runs a simulation.  The Agg backend is forced so plotting works without a
display (CI, ssh, Dask workers).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from experiments.config import Invalid, parse_bytes  # noqa: E402

_LABELS = {
    "cluster.capacity": "capacity per node",
    "cluster.nodes": "nodes",
    "cluster.ttl": "TTL (s)",
    "workload.alpha": "Zipf alpha",
    "workload.keys": "catalogue size (keys)",
    "workload.rate": "arrival rate (requests/s)",
    "backend.concurrency": "backend concurrency",
}


def axis_label(key: str, values) -> str:
    label = _LABELS.get(key, key)
    if key == "cluster.capacity":
        label += " (bytes)" if any(isinstance(v, str) for v in values) else " (objects)"
    return label


def numeric_axis(values) -> np.ndarray | None:
    """Positions for an axis of swept values, or None when they are not numbers."""
    positions = []
    for value in values:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            positions.append(float(value))
        elif isinstance(value, str):
            try:
                positions.append(float(parse_bytes(value)))
            except Invalid:
                return None
        else:
            return None
    return np.array(positions)


def capacity_curve(summary: pd.DataFrame, swept: list[str], path: Path, title: str = "") -> Path:
    """Hit ratio and p99 latency against the first swept key, one line per other combination.

    Bands are 95% confidence intervals across seeds.
    """
    fig, (ax_hit, ax_p99) = plt.subplots(1, 2, figsize=(11, 4.2))
    x_key = swept[0] if swept else None
    groups = [((), summary)] if len(swept) <= 1 else summary.groupby(swept[1:], sort=False)
    for label, group in groups:
        if x_key is None:
            x = np.zeros(len(group))
        else:
            positions = numeric_axis(group[x_key].tolist())
            x = positions if positions is not None else np.arange(len(group))
        name = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(swept[1:], label if isinstance(label, tuple) else (label,)))
        for ax, metric in ((ax_hit, "hit_ratio"), (ax_p99, "p99_ms")):
            mean = group[f"{metric}_mean"].to_numpy(dtype=float)
            half = np.nan_to_num(group[f"{metric}_ci95"].to_numpy(dtype=float))
            ax.plot(x, mean, marker="o", label=name or None)
            ax.fill_between(x, mean - half, mean + half, alpha=0.2)
        if x_key is not None and numeric_axis(group[x_key].tolist()) is None:
            for ax in (ax_hit, ax_p99):
                ax.set_xticks(x, [str(v) for v in group[x_key]])
    if x_key is not None:
        positions = numeric_axis(summary[x_key].tolist())
        if positions is not None and positions.min() > 0 and positions.max() / positions.min() >= 20:
            for ax in (ax_hit, ax_p99):
                ax.set_xscale("log")
        for ax in (ax_hit, ax_p99):
            ax.set_xlabel(axis_label(x_key, summary[x_key].tolist()))
    ax_hit.set_ylabel("hit ratio")
    ax_hit.set_ylim(0, 1)
    ax_p99.set_ylabel("p99 latency (ms)")
    ax_hit.set_title("Hit ratio")
    ax_p99.set_title("p99 latency")
    for ax in (ax_hit, ax_p99):
        ax.grid(True, alpha=0.3)
        if len(swept) > 1:
            ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
