"""Plots of an experiment, drawn from the files in its output directory.

`draw(out)` reads DIR's manifest.json and tables (summary.csv, nodes.csv,
latency.csv, and timeseries.csv when present), asks `plan` which figures suit
what was swept, and writes each as DIR/<name>.png and DIR/<name>.svg.
Nothing here runs a simulation, so `kvsim plot DIR` redraws a finished (or
half-finished, resumed) experiment, and draws the same bytes as the run did:
the files carry no timestamp or version, and SVG ids come from a fixed salt.

The figures, and when `plan` picks them:

    capacity_curve   hit ratio vs capacity per node, a line per policy (or other
                     swept values), 95% CI bands; Che's curve dashed for LRU
    p99_capacity     p99 latency vs capacity per node
    ttl_curve        hit ratio and p99 vs TTL; the no-eviction TTL formula dashed
    node_scaling     hit ratio, p99 and load imbalance vs the number of nodes
    policy_compare   bars per policy (hit ratio, p99), grouped by the other swept values
    sweep_curve      hit ratio and p99 vs the first swept key, when no figure above fits
    latency_cdf      every point's latency distribution, body and tail   (always)
    node_load        each node's share of requests relative to the mean   (always)
    timeseries       hit ratio, p99 and backend load over time     (with timeseries.csv)

The Agg backend is forced so plotting works without a display (CI, ssh).
"""

from __future__ import annotations

import io
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from experiments import overlays  # noqa: E402
from experiments.config import Invalid, parse_bytes  # noqa: E402
from experiments.execute import atomic_write  # noqa: E402

#: the look of every figure; svg.hashsalt makes SVG ids (and so bytes) repeatable
STYLE = {
    "svg.hashsalt": "kvsim",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": "small",
    "legend.framealpha": 0.8,
}

PANEL = (5.4, 4.0)  # inches per panel: a figure of 1-3 panels reads at a glance
DPI = 110

_LABELS = {
    "cluster.capacity": "capacity per node",
    "cluster.nodes": "nodes",
    "cluster.ttl": "TTL (s)",
    "cluster.policy": "eviction policy",
    "cluster.balancer": "balancer",
    "cluster.vnodes": "virtual nodes per node",
    "workload.alpha": "Zipf alpha",
    "workload.keys": "catalogue size (keys)",
    "workload.rate": "arrival rate (requests/s)",
    "backend.concurrency": "backend concurrency (requests at once)",
    "run.requests": "measured requests per run",
}

_METRICS = {
    "hit_ratio": ("Hit ratio", "hit ratio (fraction of requests)"),
    "p99_ms": ("p99 latency", "p99 latency (ms)"),
    "imbalance": ("Load imbalance", "busiest node / mean node (requests)"),
}


@dataclass
class Tables:
    """What the figures are drawn from: DIR's manifest and tables."""

    name: str
    config: dict  # the base config (manifest.json)
    swept: list  # swept dotted keys, grid then zip
    seeds: int
    summary: pd.DataFrame
    nodes: pd.DataFrame
    latency: pd.DataFrame
    timeseries: pd.DataFrame | None = None


def load(out: Path) -> Tables:
    """Read DIR's files (FileNotFoundError names a missing one)."""
    out = Path(out)
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{out}: no experiment here (no manifest.json); run `kvsim run --out {out}` first")
    manifest = json.loads(manifest_path.read_text())
    sweep = manifest["sweep"]
    tables = {}
    for name in ("summary", "nodes", "latency"):
        path = out / f"{name}.csv"
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing; run the experiment again to complete {out}")
        tables[name] = pd.read_csv(path)
    timeseries = out / "timeseries.csv"
    return Tables(name=manifest["name"], config=manifest["config"], swept=[*sweep["grid"], *sweep["zip"]],
                  seeds=len(manifest["seeds"]), timeseries=pd.read_csv(timeseries) if timeseries.exists() else None,
                  **tables)


#: swept key -> the figures that show it, in drawing order
FOR_KEY = {
    "cluster.capacity": ("capacity_curve", "p99_capacity"),
    "cluster.ttl": ("ttl_curve",),
    "cluster.nodes": ("node_scaling",),
    "cluster.policy": ("policy_compare",),
}


def plan(swept: list[str], timeseries: bool = False) -> list[str]:
    """The figures worth drawing for an experiment that swept `swept`.

    Every experiment gets its latency CDF and per-node load; each swept key
    of FOR_KEY adds its figures; a sweep over other keys gets a generic curve
    against the first of them.
    """
    names = [name for key, figures in FOR_KEY.items() if key in swept for name in figures]
    if swept and not names:
        names.append("sweep_curve")
    names += ["latency_cdf", "node_load"]
    if timeseries:
        names.append("timeseries")
    return names


def draw(out: Path) -> list[Path]:
    """Draw every planned figure of DIR into DIR; returns the files written."""
    out = Path(out)
    tables = load(out)
    written = []
    with plt.rc_context(STYLE):
        for name in plan(tables.swept, tables.timeseries is not None):
            figure = PLOTS[name](tables)
            written += save(figure, out / name)
    return written


def save(figure, stem: Path) -> list[Path]:
    """Write `figure` as stem.png and stem.svg, atomically, without metadata that changes run to run."""
    paths = []
    for suffix, metadata in ((".png", {"Software": None}), (".svg", {"Date": None, "Creator": None})):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=suffix[1:], dpi=DPI, metadata=metadata)
        path = stem.with_suffix(suffix)
        atomic_write(path, buffer.getvalue())
        paths.append(path)
    plt.close(figure)
    return paths


# -- axes, series and labels -------------------------------------------------


def short(key: str) -> str:
    return key.split(".")[-1]


def axis_label(key: str, values) -> str:
    label = _LABELS.get(key, key)
    if key == "cluster.capacity":
        label += " (bytes)" if any(isinstance(v, str) for v in values) else " (objects)"
    return label


def numeric_axis(values) -> np.ndarray | None:
    """Positions for an axis of swept values, or None when they are not numbers."""
    positions = []
    for value in values:
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            positions.append(float(value))
        elif isinstance(value, str):
            try:
                positions.append(float(parse_bytes(value)))
            except Invalid:
                return None
        else:
            return None
    return np.array(positions)


def value_label(key: str, value) -> str:
    """A swept value as a legend entry: a policy by its name, others as key=value."""
    return str(value) if key == "cluster.policy" else f"{short(key)}={value}"


def point_label(keys: list[str], values) -> str:
    return ", ".join(value_label(k, v) for k, v in zip(keys, values))


def series(frame: pd.DataFrame, swept: list[str], x_key: str | None):
    """(label, {key: value}, rows) for each combination of the swept keys other than `x_key`."""
    others = [key for key in swept if key != x_key]
    if not others:
        return [("", {}, frame)]
    found = []
    for values, rows in frame.groupby(others, sort=False):
        values = values if isinstance(values, tuple) else (values,)
        found.append((point_label(others, values), dict(zip(others, values)), rows))
    return found


def colors(count: int) -> list:
    """Distinct colours for a few series; a sequential map for many."""
    if count <= 10:
        return [plt.get_cmap("tab10")(i) for i in range(count)]
    return [plt.get_cmap("viridis")(i / max(1, count - 1)) for i in range(count)]


def config_at(config: dict, values: dict) -> dict:
    """The base config with swept values (as read back from a table) set."""
    point = {section: dict(body) for section, body in config.items()}
    for key, value in values.items():
        section, _, name = key.partition(".")
        point[section][name] = value.item() if isinstance(value, np.generic) else value
    return point


def describe(tables: Tables) -> str:
    """One line saying what was held fixed, for a figure's subtitle."""
    config, swept = tables.config, set(tables.swept)
    workload, cluster = config["workload"], config["cluster"]
    parts = []
    if "cluster.nodes" not in swept:
        parts.append(f"{cluster['nodes']} node" + ("s" if cluster["nodes"] != 1 else ""))
    if "cluster.capacity" not in swept:
        parts.append(f"capacity {cluster['capacity']}/node")
    if "cluster.policy" not in swept:
        parts.append(str(cluster["policy"]))
    if "cluster.ttl" not in swept and cluster["ttl"]:
        parts.append(f"TTL {cluster['ttl']} s")
    if workload["popularity"] == "zipf":
        alpha = "" if "workload.alpha" in swept else f"({workload['alpha']})"
        parts.append(f"Zipf{alpha} over {workload['keys']:,} keys" if "workload.keys" not in swept else f"Zipf{alpha}")
    else:
        parts.append("uniform keys")
    if "workload.rate" not in swept:
        parts.append(f"{workload['rate']:,} req/s")
    parts.append(f"{tables.seeds} seed" + ("s" if tables.seeds != 1 else "") + ("; bands: 95% CI" if tables.seeds > 1 else ""))
    return ", ".join(parts)


def figure(tables: Tables, title: str, panels: int = 1, rows: int = 1, width: float | None = None):
    """A figure of `panels` axes with the experiment's title and the fixed config beneath it."""
    columns = panels // rows
    size = (width or PANEL[0] * columns, PANEL[1] * rows * (0.75 if rows > 1 else 1))
    fig, axes = plt.subplots(rows, columns, figsize=size, layout="constrained", squeeze=False,
                             sharex=rows > 1)
    # Wrap the fixed config to the figure's width (about 13 characters an inch at this size).
    context = textwrap.fill(describe(tables), width=int(size[0] * 13))
    fig.suptitle(f"{tables.name}: {title}\n{context}", fontsize=10)
    return fig, list(axes.flat)


def set_x_axis(ax, key: str, values) -> None:
    """Label the x axis; log scale when the swept values span 20x or more."""
    ax.set_xlabel(axis_label(key, values))
    positions = numeric_axis(values)
    if positions is not None and spans_decades(positions):
        ax.set_xscale("log")


def curve_panel(ax, tables: Tables, x_key: str, metric: str,
                theory: Callable | None = None, theory_label: str = "") -> None:
    """`metric` (mean, 95% CI band) against `x_key`, a line per combination of the other swept keys.

    `theory(point config, x grid)` may return a predicted curve, drawn dashed
    in the series' colour.
    """
    groups = series(tables.summary, tables.swept, x_key)
    x_values = tables.summary[x_key].tolist()
    categorical = numeric_axis(x_values) is None
    categories = list(dict.fromkeys(x_values))
    for color, (label, values, rows) in zip(colors(len(groups)), groups):
        xs = rows[x_key].tolist()
        x = np.array([categories.index(v) for v in xs], float) if categorical else numeric_axis(xs)
        mean = rows[f"{metric}_mean"].to_numpy(float)
        half = rows[f"{metric}_ci95"].to_numpy(float)
        ax.plot(x, mean, marker="o", color=color, label=label or "simulation")
        if np.isfinite(half).any():
            ax.fill_between(x, mean - np.nan_to_num(half), mean + np.nan_to_num(half), color=color, alpha=0.2,
                            linewidth=0)
        if theory is not None and not categorical:
            grid = dense(x)
            predicted = theory(config_at(tables.config, values), grid)
            if predicted is not None:
                name = f"{label}: {theory_label}" if label else theory_label
                ax.plot(grid, predicted, linestyle="--", color=color, alpha=0.9, label=name)
    title, ylabel = _METRICS[metric]
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    set_x_axis(ax, x_key, x_values)
    if categorical:
        ax.set_xticks(range(len(categories)), [str(c) for c in categories])
    if metric == "hit_ratio":
        ax.set_ylim(0, 1)
    elif spans_decades(tables.summary[f"{metric}_mean"]):
        ax.set_yscale("log")  # a saturated backend's seconds and a cache's milliseconds, both legible
    else:
        ax.set_ylim(bottom=0)
    if len(groups) > 1 or theory is not None:
        ax.legend()


def spans_decades(values) -> bool:
    """Whether positive `values` span 20x or more: then a log axis shows them all."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return len(values) > 0 and values.min() > 0 and values.max() / values.min() >= 20


def dense(x: np.ndarray, count: int = 48) -> np.ndarray:
    """A smooth grid over the range of `x` (geometric when the range calls for a log axis)."""
    low, high = float(np.min(x)), float(np.max(x))
    if spans_decades(x):
        return np.geomspace(low, high, count)
    return np.linspace(low, high, count)


# -- the figures ----------------------------------------------------------------


def capacity_curve(tables: Tables):
    fig, (ax,) = figure(tables, "hit ratio vs capacity per node")
    curve_panel(ax, tables, "cluster.capacity", "hit_ratio", overlays.lru_capacity_curve,
                "Che's approximation (LRU)")
    return fig


def p99_capacity(tables: Tables):
    fig, (ax,) = figure(tables, "p99 latency vs capacity per node")
    curve_panel(ax, tables, "cluster.capacity", "p99_ms")
    return fig


def ttl_curve(tables: Tables):
    fig, (hit, p99) = figure(tables, "hit ratio and p99 latency vs TTL", panels=2)
    curve_panel(hit, tables, "cluster.ttl", "hit_ratio", overlays.ttl_curve, "TTL formula (no eviction)")
    curve_panel(p99, tables, "cluster.ttl", "p99_ms")
    return fig


def node_scaling(tables: Tables):
    fig, axes = figure(tables, "scaling out: nodes of fixed capacity", panels=3)
    for ax, metric in zip(axes, ("hit_ratio", "p99_ms", "imbalance")):
        curve_panel(ax, tables, "cluster.nodes", metric)
    axes[2].axhline(1.0, color="grey", linewidth=1, linestyle=":")
    return fig


def sweep_curve(tables: Tables):
    key = tables.swept[0]
    fig, (hit, p99) = figure(tables, f"hit ratio and p99 latency vs {_LABELS.get(key, key)}", panels=2)
    curve_panel(hit, tables, key, "hit_ratio")
    curve_panel(p99, tables, key, "p99_ms")
    return fig


def policy_compare(tables: Tables):
    """Grouped bars: a bar per policy, a group per combination of the other swept values."""
    groups = series(tables.summary, tables.swept, "cluster.policy")
    policies = list(dict.fromkeys(tables.summary["cluster.policy"]))
    width = 0.8 / len(policies)
    fig, axes = figure(tables, "eviction policies compared", panels=2,
                       width=max(2 * PANEL[0], 2 * (1.5 + 0.3 * len(groups) * len(policies))))
    for ax, metric in zip(axes, ("hit_ratio", "p99_ms")):
        for offset, (policy, color) in enumerate(zip(policies, colors(len(policies)))):
            means, halves = [], []
            for _, _, rows in groups:
                row = rows[rows["cluster.policy"] == policy]
                means.append(row[f"{metric}_mean"].iloc[0] if len(row) else np.nan)
                halves.append(row[f"{metric}_ci95"].iloc[0] if len(row) else np.nan)
            x = np.arange(len(groups)) + (offset - (len(policies) - 1) / 2) * width
            bars = ax.bar(x, means, width, color=color, label=str(policy),
                          yerr=np.nan_to_num(halves) if np.isfinite(halves).any() else None, capsize=3)
            if len(groups) * len(policies) <= 16:
                ax.bar_label(bars, fmt="%.3f" if metric == "hit_ratio" else "%.1f", fontsize=7, padding=2)
        title, ylabel = _METRICS[metric]
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.set_xticks(range(len(groups)), [label or "all" for label, _, _ in groups],
                      rotation=20 if len(groups) > 3 else 0)
        ax.grid(False, axis="x")
        if metric == "hit_ratio":
            ax.set_ylim(0, 1)
    axes[0].legend(title="policy", ncols=min(len(policies), 5), loc="upper left")
    return fig


def latency_cdf(tables: Tables):
    """Each point's latency distribution (quantiles averaged over seeds): the body, and the tail on log axes."""
    keys = tables.swept
    frame = tables.latency.groupby([*keys, "probability"], sort=False)["latency_ms"].mean().reset_index()
    groups = series(frame, keys, None)
    fig, (body, tail) = figure(tables, "latency distribution", panels=2)
    for color, (label, _, rows) in zip(colors(len(groups)), groups):
        latency = rows["latency_ms"].to_numpy(float)
        probability = rows["probability"].to_numpy(float)
        body.plot(latency, probability, color=color, label=label or "all requests")
        tail.plot(latency, 1.0 - probability, color=color, marker=".", label=label or "all requests")
    body.set_title("CDF")
    body.set_ylabel("fraction of requests answered within x")
    body.set_ylim(0, 1)
    tail.set_title("Tail")
    tail.set_ylabel("fraction of requests slower than x")
    tail.set_yscale("log")
    for ax in (body, tail):
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms)")
    body.legend(ncols=2 if len(groups) > 8 else 1)
    return fig


def node_load(tables: Tables):
    """Each node's requests relative to the mean node, a column of dots per sweep point."""
    keys = tables.swept
    shares = tables.nodes.groupby([*keys, "node"], sort=False)["share"].mean().reset_index()
    groups = series(shares, keys, None)
    fig, (ax,) = figure(tables, "per-node load", width=max(PANEL[0], 2.0 + 0.45 * len(groups)))
    for position, (_, _, rows) in enumerate(groups):
        relative = rows["share"].to_numpy(float) * len(rows)
        ax.scatter(np.full(len(relative), position), relative, s=18, color="tab:blue", alpha=0.6)
        ax.scatter([position], [relative.max()], s=40, marker="_", color="tab:red", linewidths=2)
    ax.axhline(1.0, color="grey", linewidth=1, linestyle=":")
    ax.set_xticks(range(len(groups)), [label or "all" for label, _, _ in groups],
                  rotation=45 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center")
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("node's requests / mean node's (1 = even)")
    ax.set_title("Each dot a node; red: the busiest")
    ax.grid(False, axis="x")
    return fig


def timeseries(tables: Tables):
    """Hit ratio, p99 and backend load over time (DIR/timeseries.csv), a line per sweep point."""
    keys = [key for key in tables.swept if key in tables.timeseries.columns]
    frame = (tables.timeseries.groupby([*keys, "t_start"], sort=False)[["hit_ratio", "p99_ms", "backend_rps"]]
             .mean().reset_index())
    groups = series(frame, keys, None)
    fig, axes = figure(tables, "over time", panels=3, rows=3, width=2 * PANEL[0])
    labels = (("hit_ratio", "hit ratio"), ("p99_ms", "p99 latency (ms)"), ("backend_rps", "backend load (requests/s)"))
    for color, (label, _, rows) in zip(colors(len(groups)), groups):
        for ax, (column, _) in zip(axes, labels):
            ax.plot(rows["t_start"], rows[column], color=color, label=label or None, drawstyle="steps-post")
    for ax, (column, ylabel) in zip(axes, labels):
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, 1 if column == "hit_ratio" else None)
    axes[-1].set_xlabel("time (s)")
    if len(groups) > 1:
        axes[0].legend(ncols=min(len(groups), 4))
    return fig


PLOTS: dict[str, Callable[[Tables], object]] = {
    "capacity_curve": capacity_curve,
    "p99_capacity": p99_capacity,
    "ttl_curve": ttl_curve,
    "node_scaling": node_scaling,
    "policy_compare": policy_compare,
    "sweep_curve": sweep_curve,
    "latency_cdf": latency_cdf,
    "node_load": node_load,
    "timeseries": timeseries,
}
