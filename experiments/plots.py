"""Plots of an experiment, drawn from the files in its output directory.

`draw(out)` reads DIR's manifest.json and tables (summary.csv, nodes.csv,
latency.csv, and timeseries.csv), asks `plan` which figures suit
what was swept, and writes each as DIR/<name>.png and DIR/<name>.svg.
Nothing here runs a simulation, so `kvsim plot DIR` redraws an experiment
(for instance after changing a figure) and draws the same
bytes as the run did: the files carry no timestamp or version, and SVG ids
come from a fixed salt.

The figures, and when `plan` picks them:

    capacity_curve   hit ratio vs capacity per node, a line per policy (or other
                     swept values), 95% CI bands; Che's curve dashed for LRU
    p99_capacity     p99 latency vs capacity per node
    ttl_curve        hit ratio and p99 vs TTL; the no-eviction TTL formula dashed
    node_scaling     hit ratio, p99 and load imbalance vs the number of nodes
    policy_compare   bars per policy (hit ratio, p99), grouped by the other swept values
    sweep_curve      hit ratio and p99 vs the first swept key, when no figure above fits
    latency_cdf      the points' latency distributions, body and tail   (always)
    node_load        each node's requests relative to the mean   (unless one node throughout)
    timeseries       hit ratio, p99 and backend load over time     (runs of 5 intervals or more)

The Agg backend is forced so plotting works without a display (CI, ssh).
"""

from __future__ import annotations

import io
import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from experiments import overlays  # noqa: E402
from experiments.checks import Invalid, parse_bytes  # noqa: E402
from experiments.config import ConfigError  # noqa: E402
from experiments.execute import atomic_write  # noqa: E402
from sim.metrics import CDF_PROBABILITIES, TIMESERIES  # noqa: E402

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

PANEL = (6.0, 4.0)  # inches per panel: a figure of 1-3 panels reads at a glance
MARKERS = "osD^vPX*"  # with the colours, tell overlapping lines apart (and in greyscale)
DPI = 110

#: the formats every figure is written in, each without the metadata that
#: would change its bytes from run to run (date) or version to version
SUFFIXES = {".png": {"Software": None}, ".svg": {"Date": None, "Creator": None}}

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

CHE = "Che's approximation"
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
    sweep: dict  # swept dotted key -> its values, grid then zip
    seeds: int
    summary: pd.DataFrame
    nodes: pd.DataFrame
    latency: pd.DataFrame
    timeseries: pd.DataFrame | None = None

    @property
    def swept(self) -> list[str]:
        return list(self.sweep)


def load(out: Path) -> Tables:
    """Read DIR's files (FileNotFoundError names a missing one)."""
    out = Path(out)
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{out}: no experiment here (no manifest.json); run `kvsim run --out {out}` first")
    try:
        manifest = json.loads(manifest_path.read_text())
        sweep = {**manifest["sweep"]["grid"], **manifest["sweep"]["zip"]}
        name, config, seeds = manifest["name"], manifest["config"], len(manifest["seeds"])
        if not seeds:
            raise ValueError("no seeds")
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError, ValueError) as error:
        raise ConfigError(
            f"{manifest_path}: damaged, not a kvsim manifest ({type(error).__name__}: {error}); "
            f"`kvsim run CONFIG --out {out} --repair` rewrites it from the run files that verify"
        ) from None
    runs = manifest.get("runs")
    tables = {table: read_table(out, table) for table in ("summary", "nodes", "latency")}
    expected = {"summary": runs // seeds, "latency": runs * len(CDF_PROBABILITIES)} if isinstance(runs, int) else {}
    for table, rows in expected.items():
        if len(tables[table]) != rows:
            raise ConfigError(
                f"{out / (table + '.csv')}: {len(tables[table])} rows where the manifest's {runs} runs make {rows}: "
                f"the file is incomplete; run the experiment again (same command) to rewrite it"
            )
    timeseries = out / "timeseries.csv"
    return Tables(
        name=name,
        config=config,
        sweep=sweep,
        seeds=seeds,
        timeseries=read_table(out, "timeseries") if timeseries.exists() else None,
        **tables,
    )


#: the columns each table must have, whatever was swept (the swept keys come first)
REQUIRED_COLUMNS = {
    "summary": ("seeds", "hit_ratio_mean", "hit_ratio_ci95", "p99_ms_mean"),
    "nodes": ("seed", "node", "requests", "share", "hit_ratio"),
    "latency": ("seed", "probability", "latency_ms"),
    "timeseries": ("seed", *TIMESERIES),
}


def read_table(out: Path, table: str) -> pd.DataFrame:
    """DIR/<table>.csv, or a one-line error saying it is missing, empty or not what kvsim writes."""
    path = out / f"{table}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run the experiment again to complete {out}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        reason = "empty" if isinstance(error, pd.errors.EmptyDataError) else f"not a table ({error})".splitlines()[0]
        raise ConfigError(f"{path}: {reason}; run the experiment again (same command) to rewrite it") from None
    missing = [column for column in REQUIRED_COLUMNS[table] if column not in frame.columns]
    if missing:
        raise ConfigError(
            f"{path}: not a kvsim {table} table (no column {missing[0]!r}); run the experiment again to rewrite it"
        )
    return frame


#: swept key -> the figures that show it, in drawing order, and how many
#: values it needs: a curve wants three points, a bar chart two bars
FOR_KEY = {
    "cluster.capacity": (("capacity_curve", "p99_capacity"), 3),
    "cluster.ttl": (("ttl_curve",), 3),
    "cluster.nodes": (("node_scaling",), 3),
    "cluster.policy": (("policy_compare",), 2),
}


def plan(sweep: dict[str, list], timeseries: bool = False, one_node: bool = False) -> list[str]:
    """The figures worth drawing for an experiment that swept `sweep` (dotted key -> values).

    Each swept key of FOR_KEY with enough values adds its figures; a key
    with fewer values still shows, as the lines or bar groups of the others
    (ttl_sweep's two capacities are two TTL curves, not a capacity curve of
    two points), and gets its own figures only when no other key earned any.
    A sweep that earns none gets a generic curve against its first key.
    Every experiment gets its latency CDF, and its per-node load unless it
    has `one_node` throughout; a `timeseries` (timeseries.csv) is drawn too.
    """
    names = _figures_for(sweep, at_least=True) or _figures_for(sweep, at_least=False)
    if sweep and not names:
        names.append("sweep_curve")
    names.append("latency_cdf")
    if not one_node:
        names.append("node_load")
    if timeseries:
        names.append("timeseries")
    return names


#: the time-series columns (of sim.metrics.TIMESERIES) drawn over time, a panel each, and their axis labels
TIMESERIES_PANELS = {"hit_ratio": "hit ratio", "p99_ms": "p99 latency (ms)", "backend_rps": "backend load (requests/s)"}

#: a time series is worth a figure when a run spans at least this many intervals
TIME_COURSE_INTERVALS = 5


def has_time_course(timeseries: pd.DataFrame | None) -> bool:
    """Whether timeseries.csv shows a course over time (a capacity sweep of a few seconds does not)."""
    if timeseries is None or timeseries.empty:
        return False
    return (
        int(
            timeseries.groupby(
                [c for c in timeseries.columns if c not in TIMESERIES],
                sort=False,
            )
            .size()
            .max()
        )
        >= TIME_COURSE_INTERVALS
    )


def _figures_for(sweep: dict, at_least: bool) -> list[str]:
    return [
        name
        for key, (figures, enough) in FOR_KEY.items()
        if key in sweep and (len(sweep[key]) >= enough or not at_least)
        for name in figures
    ]


def draw(out: Path) -> list[Path]:
    """Draw every planned figure of DIR into DIR; returns the files written."""
    out = Path(out)
    tables = load(out)
    one_node = tables.config["cluster"]["nodes"] == 1 and "cluster.nodes" not in tables.sweep
    names = plan(tables.sweep, has_time_course(tables.timeseries), one_node)
    written = []
    with plt.rc_context(STYLE):
        for name in names:
            written += save(PLOTS[name](tables), out / name)
    remove_figures(out, [name for name in PLOTS if name not in names])  # left by an earlier plan
    return written


def remove_figures(out: Path, names) -> None:
    for name in names:
        for suffix in SUFFIXES:
            (out / f"{name}{suffix}").unlink(missing_ok=True)


def save(figure, stem: Path) -> list[Path]:
    """Write `figure` as stem.png and stem.svg, atomically, without metadata that changes run to run."""
    paths = []
    for suffix, metadata in SUFFIXES.items():
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
    # Wrap the fixed config to the figure's width (about 14 characters an inch at this size).
    context = textwrap.fill(describe(tables, intervals), width=int(size[0] * 14))
    fig.suptitle(f"{tables.name}: {title}\n{context}", fontsize=10)
    return fig, list(axes.flat)


def set_x_axis(ax, key: str, values) -> None:
    """Label the x axis with the swept values themselves; log scale when they span a wide range."""
    ax.set_xlabel(axis_label(key, values))
    positions = numeric_axis(values)
    if positions is None:
        return
    if spans_decades(positions):
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ticks = dict(zip(positions, values))  # position -> the value as the config wrote it
    if len(ticks) <= 10:
        ax.set_xticks(list(ticks), [tick_label(v) for v in ticks.values()])


def tick_label(value) -> str:
    if isinstance(value, str):
        return value  # a size such as "64MiB"
    return f"{value:,}" if float(value).is_integer() else f"{value:g}"


def curve_panel(
    ax, tables: Tables, x_key: str, metric: str, theory: Callable | None = None, theory_label: str = ""
) -> None:
    """`metric` (mean, 95% CI band) against `x_key`, a line per combination of the other swept keys.

    `theory(point config, x grid)` may return a predicted curve, drawn dashed
    in the series' colour.
    """
    groups = series(tables.summary, tables.swept, x_key)
    x_values = tables.summary[x_key].tolist()
    categorical = numeric_axis(x_values) is None
    categories = list(dict.fromkeys(x_values))
    predictions = []
    for index, (color, (label, values, rows)) in enumerate(zip(colors(len(groups)), groups)):
        xs = rows[x_key].tolist()
        x = np.array([categories.index(v) for v in xs], float) if categorical else numeric_axis(xs)
        mean = rows[f"{metric}_mean"].to_numpy(float)
        half = rows[f"{metric}_ci95"].to_numpy(float)
        ax.plot(x, mean, marker=MARKERS[index % len(MARKERS)], color=color, label=label or "simulation")
        if np.isfinite(half).any():
            ax.fill_between(
                x, mean - np.nan_to_num(half), mean + np.nan_to_num(half), color=color, alpha=0.2, linewidth=0
            )
        if theory is not None and not categorical:
            grid = dense(numeric_axis(x_values))
            predicted = theory(config_at(tables.config, values), grid)
            if predicted is not None:
                predictions.append((label, color, grid, predicted))
    draw_predictions(ax, predictions, theory_label)
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
    if len(groups) > 1 or predictions:
        ax.legend()


def draw_predictions(ax, predictions: list, theory_label: str) -> None:
    """Dashed theory curves: one dark line when every series predicts the same, else one per series."""
    if not predictions:
        return
    first = predictions[0][3]
    if all(np.array_equal(first, predicted) for *_, predicted in predictions):
        _, _, grid, predicted = predictions[0]
        ax.plot(grid, predicted, linestyle="--", color="0.2", linewidth=1.2, label=theory_label)
        return
    for label, color, grid, predicted in predictions:
        name = f"{label}: {theory_label}" if label else theory_label
        ax.plot(grid, predicted, linestyle="--", color=color, alpha=0.9, label=name)


def spans_decades(values, ratio: float = 8.0) -> bool:
    """Whether positive `values` span `ratio` or more: then a log axis shows them all evenly."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    return len(values) > 0 and values.min() > 0 and values.max() / values.min() >= ratio


def dense(x: np.ndarray, count: int = 48) -> np.ndarray:
    """A smooth grid over the range of `x` (geometric when the range calls for a log axis)."""
    low, high = float(np.min(x)), float(np.max(x))
    if spans_decades(x):
        return np.geomspace(low, high, count)
    return np.linspace(low, high, count)


# -- the figures ----------------------------------------------------------------


def capacity_curve(tables: Tables):
    fig, (ax,) = figure(tables, "hit ratio vs capacity per node")
    curve_panel(ax, tables, "cluster.capacity", "hit_ratio", overlays.lru_capacity_curve, CHE)
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
        theory = overlays.lru_nodes_curve if metric == "hit_ratio" else None
        curve_panel(ax, tables, "cluster.nodes", metric, theory, CHE)
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
    count = len(groups) * len(policies)
    fig, axes = figure(
        tables,
        "eviction policies compared",
        panels=2,
        rows=2,
        width=min(12.0, max(PANEL[0], 2.0 + 0.3 * count)),
        intervals="whiskers",
    )
    for ax, metric in zip(axes, ("hit_ratio", "p99_ms")):
        bar_panel(ax, groups, policies, metric, values_on_bars=count <= 16)
    axes[0].legend(title="policy", ncols=min(len(policies), 5), loc="upper left")
    return fig


def bar_panel(ax, groups, policies: list, metric: str, values_on_bars: bool) -> None:
    """`metric` per policy (bars with 95% CI whiskers) in each group of rows."""
    width = 0.8 / len(policies)
    for offset, (policy, color) in enumerate(zip(policies, colors(len(policies)))):
        means, halves = [], []
        for _, _, rows in groups:
            row = rows[rows["cluster.policy"] == policy]
            means.append(row[f"{metric}_mean"].iloc[0] if len(row) else np.nan)
            halves.append(row[f"{metric}_ci95"].iloc[0] if len(row) else np.nan)
        x = np.arange(len(groups)) + (offset - (len(policies) - 1) / 2) * width
        whiskers = np.nan_to_num(halves) if np.isfinite(halves).any() else None
        bars = ax.bar(x, means, width, color=color, label=str(policy), yerr=whiskers, capsize=3)
        if values_on_bars:
            ax.bar_label(bars, fmt="%.3f" if metric == "hit_ratio" else "%.1f", fontsize=7, padding=2)
    title, ylabel = _METRICS[metric]
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_xticks(range(len(groups)), [label or "all" for label, _, _ in groups])
    ax.grid(False, axis="x")
    if metric == "hit_ratio":
        ax.set_ylim(0, 1)


def latency_cdf(tables: Tables):
    """Each point's latency distribution (quantiles averaged over seeds): the body, and the tail on log axes."""
    latency, keys, held = cdf_points(tables)
    frame = latency.groupby([*keys, "probability"], sort=False)["latency_ms"].mean().reset_index()
    groups = series(frame, keys, None)
    title = "latency distribution" + (f" at {point_label(list(held), held.values())}" if held else "")
    fig, (body, tail) = figure(tables, title, panels=2, intervals="")
    for color, (label, _, rows) in zip(colors(len(groups)), groups):
        latency_ms = rows["latency_ms"].to_numpy(float)
        probability = rows["probability"].to_numpy(float)
        body.plot(latency_ms, probability, color=color, label=label or "all requests")
        tail.plot(latency_ms, 1.0 - probability, color=color, marker=".", label=label or "all requests")
    body.set_title("CDF")
    body.set_ylabel("fraction of requests answered within x")
    body.set_ylim(0, 1)
    tail.set_title("Tail")
    tail.set_ylabel("fraction of requests slower than x")
    tail.set_yscale("log")
    for ax in (body, tail):
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms)")
    tail.legend(loc="lower left")  # the tail's curves leave that corner empty
    return fig


#: more curves than this in one latency CDF are a tangle
MAX_CURVES = 8


def cdf_points(tables: Tables) -> tuple[pd.DataFrame, list[str], dict]:
    """The latency rows worth a CDF, the keys that tell them apart, and the values held fixed.

    A small sweep shows every point.  A larger one shows the points along
    its longest swept key, with the other keys at their first values
    (latency.csv keeps every point's quantiles).
    """
    keys, latency = tables.swept, tables.latency
    if len(tables.summary) <= MAX_CURVES:
        return latency, keys, {}
    along = max(keys, key=lambda key: len(tables.sweep[key]))  # the first of the longest
    held = {key: tables.summary[key].iloc[0] for key in keys if key != along}
    chosen = np.logical_and.reduce([latency[key] == value for key, value in held.items()])
    return latency[chosen], [along], held


def node_load(tables: Tables):
    """Each node's requests relative to the mean node, for every run: a row of dots per sweep point.

    A node is a different machine in every seed (the hot keys land elsewhere),
    so runs are not averaged node by node; the red bar is the busiest node's
    load averaged over seeds, the `imbalance` of summary.csv.
    """
    groups = series(tables.nodes, tables.swept, None)
    fig, (ax,) = figure(tables, "per-node load", height=max(3.2, 1.8 + 0.3 * len(groups)), intervals="")
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
    ax.set_yticks(range(len(groups)), [label or "all" for label, _, _ in groups])
    ax.set_ylim(len(groups) - 0.5, -0.5)  # sweep order from the top
    ax.set_xlim(0, max(1.5, 1.05 * highest))
    ax.set_xlabel("node's requests / mean node's (1 = even)")
    ax.set_title("Requests per node")
    ax.grid(False, axis="y")
    fig.legend(loc="outside lower center", ncols=2)
    return fig


def timeseries(tables: Tables):
    """Hit ratio, p99 and backend load over time (DIR/timeseries.csv), a line per sweep point."""
    keys = [key for key in tables.swept if key in tables.timeseries.columns]
    # A run's first and last intervals are partial (warm-up ends, and requests end, inside
    # them): leave them out rather than draw their few requests as a spike.
    runs = tables.timeseries.groupby(["seed", *keys], sort=False)
    whole = tables.timeseries[
        (runs["t_start"].rank(method="first") > 1) & (runs["t_start"].rank(method="first", ascending=False) > 1)
    ]
    frame = (
        whole.groupby([*keys, "t_start"], sort=False)[list(TIMESERIES_PANELS)]
        .mean()
        .reset_index()
        .sort_values([*keys, "t_start"], kind="stable")
    )
    groups = series(frame, keys, None)
    panels = len(TIMESERIES_PANELS)  # one above the other, sharing the time axis
    fig, axes = figure(tables, "over time", panels=panels, rows=panels, width=2 * PANEL[0], height=7.0, intervals="")
    hours = frame["t_start"].max() > 3 * 3600  # a day reads better in hours
    for color, (label, _, rows) in zip(colors(len(groups)), groups):
        time = rows["t_start"] / 3600 if hours else rows["t_start"]
        for ax, column in zip(axes, TIMESERIES_PANELS):
            ax.plot(time, rows[column], color=color, label=label or None, drawstyle="steps-post")
    for ax, (column, ylabel) in zip(axes, TIMESERIES_PANELS.items()):
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, 1 if column == "hit_ratio" else None)
    axes[-1].set_xlabel("time (h)" if hours else "time (s)")
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
