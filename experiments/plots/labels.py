"""Axes and labels: what a swept key is called, where its values go on an axis, how ticks read.

Swept values are placed as numbers where they are numbers (a size such as
"64MiB" counts its bytes) and labelled as the config wrote them.  An axis
of bytes reads in binary prefixes (KiB, MiB, GiB), never in raw powers of
ten: `bytes_axis` puts its ticks at round binary sizes and names them so.
"""

from __future__ import annotations

import math
import numbers
import textwrap

import matplotlib.ticker
import numpy as np

from experiments.config.checks import Invalid, parse_bytes

#: what the figures call a swept key
LABELS = {
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
    "near.capacity": "near cache per client group",
    "near.invalidation_delay_s": "invalidation delay to the near caches (s)",
    "autoscale.max_nodes": "most nodes the autoscaler may hold",
}

#: metric -> (panel title, axis label)
METRICS = {
    "hit_ratio": ("Hit ratio", "hit ratio (fraction of requests)"),
    "p99_ms": ("p99 latency", "p99 latency (ms)"),
    "imbalance": ("Load imbalance", "busiest node / mean node (requests)"),
}

#: the values a metric can take: a confidence band or whisker is clipped to them
#: (a ratio lies in [0, 1]; the busiest node carries at least the mean load)
DOMAINS = {"hit_ratio": (0.0, 1.0), "p99_ms": (0.0, math.inf), "imbalance": (1.0, math.inf)}

BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def short(key: str) -> str:
    return key.split(".")[-1]


def axis_label(key: str, values) -> str:
    label = LABELS.get(key, key)
    if key == "cluster.capacity":
        label += " (bytes)" if any(isinstance(v, str) for v in values) else " (objects)"
    return label


#: the unit a swept key's number is in, said in legends ("ttl=0.5 s")
VALUE_UNITS = {"cluster.ttl": "s", "near.invalidation_delay_s": "s", "workload.rate": "requests/s"}


def value_label(key: str, value) -> str:
    """A swept value as a legend entry: a policy by its name, others as key=value, a number with its unit."""
    if key == "cluster.policy":
        return str(value)
    unit = VALUE_UNITS.get(key) if isinstance(value, numbers.Real) and not isinstance(value, bool) else None
    return f"{short(key)}={value}" + (f" {unit}" if unit else "")


#: a legend entry or tick label longer than this goes on several lines (a zip of many keys names them all)
LABEL_WIDTH = 40


def point_label(keys: list[str], values) -> str:
    """The swept values of a point as a legend entry, "ttl=0, alpha=0.9", on lines of at most LABEL_WIDTH."""
    text = ", ".join(value_label(k, v) for k, v in zip(keys, values))
    return textwrap.fill(text, width=LABEL_WIDTH, break_long_words=False, break_on_hyphens=False)


def numeric_axis(values) -> np.ndarray | None:
    """Positions for an axis of swept values, or None when they are not numbers of one kind.

    Numbers stand where they are, sizes ("64MiB") at their bytes; numbers and
    sizes together (a capacity in objects beside one in bytes), truth values,
    words and tables of parameters have no common axis: they are categories.
    """
    positions, kinds = [], set()
    for value in values:
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
            positions.append(float(value))
            kinds.add("number")
        elif isinstance(value, str):
            try:
                positions.append(float(parse_bytes(value)))
            except Invalid:
                return None
            kinds.add("size")
        else:
            return None
    if len(kinds) > 1 or not np.isfinite(positions).all():
        return None
    return np.array(positions)


def tick_label(value) -> str:
    if isinstance(value, str):
        return value  # a size such as "64MiB"
    return f"{value:,}" if float(value).is_integer() else f"{value:g}"


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


def set_x_axis(ax, key: str, values) -> None:
    """Label the x axis with the swept values themselves; log scale when they span a wide range."""
    ax.set_xlabel(axis_label(key, values))
    positions = numeric_axis(values)
    if positions is None:
        return
    log = spans_decades(positions)
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ticks = dict(zip(positions, values))  # position -> the value as the config wrote it
    if len(ticks) <= 10:
        ax.set_xticks(list(ticks), [tick_label(v) for v in ticks.values()])
    elif any(isinstance(v, str) for v in values):
        bytes_axis(ax.xaxis, log)


# -- bytes in binary prefixes ---------------------------------------------------


def binary_size(value: float) -> str:
    """A number of bytes with a binary prefix: 1536 -> '1.5 KiB', 2**30 -> '1 GiB'."""
    if value < 1024:
        return f"{value:g} B"
    power = min(int(math.log2(value) // 10), len(BINARY_UNITS) - 1)
    return f"{value / 1024**power:.4g} {BINARY_UNITS[power]}"


class BinaryLocator(matplotlib.ticker.Locator):
    """Ticks at round binary sizes: powers of two on a log axis, multiples of 1, 2 or 5 KiB/MiB/... on a linear one."""

    def __init__(self, log: bool, most: int = 8):
        self.log = log
        self.most = most

    def __call__(self):
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin, vmax):
        low, high = sorted((float(vmin), float(vmax)))
        if self.log:
            return self._powers_of_two(max(low, 1.0), max(high, 1.0))
        unit = 1024.0 ** max(0, int(math.log2(max(high, 1.0)) // 10))
        steps = matplotlib.ticker.MaxNLocator(nbins=self.most, steps=[1, 2, 5, 10])
        return steps.tick_values(low / unit, high / unit) * unit

    def _powers_of_two(self, low: float, high: float) -> np.ndarray:
        first, last = math.ceil(math.log2(low)), math.floor(math.log2(high))
        # Every power of two, or every 2nd, 5th, 10th (one per KiB, MiB, GiB): at most `most` ticks.
        stride = next((s for s in (1, 2, 5, 10, 20, 30) if (last - first) // s + 1 <= self.most), 40)
        start = math.ceil(first / stride) * stride
        return np.exp2(np.arange(start, last + 1, stride, dtype=float))


def bytes_axis(axis, log: bool) -> None:
    """Ticks of `axis` (ax.xaxis or ax.yaxis) at round binary sizes, labelled in KiB, MiB, GiB."""
    axis.set_major_locator(BinaryLocator(log))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _position: binary_size(value)))
    axis.set_minor_locator(matplotlib.ticker.NullLocator())


def plain_log_ticks(axis, low: float, high: float) -> None:
    """Tick labels of a log axis of values from `low` to `high` as plain numbers ("12.5", "100"), not
    powers of ten ("1.25 x 10^1").

    Plain numbers read as the quantities they are (milliseconds, requests a second), and they draw
    without mathtext, whose parsing of each power of ten took a fifth of a latency figure's time.
    Within a decade matplotlib labels only minor ticks; over several decades the decades alone are
    labelled.
    """
    plain = matplotlib.ticker.FuncFormatter(lambda value, _position: f"{value:g}")
    axis.set_major_formatter(plain)
    within_a_decade = 0 < low and high < 10 * low
    axis.set_minor_formatter(plain if within_a_decade else matplotlib.ticker.NullFormatter())
