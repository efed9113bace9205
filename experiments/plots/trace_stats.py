"""The figure of `kvsim trace stats`: one per trace, drawn from its numbers (experiments/trace/stats.py).

Six panels: popularity (requests per object against its rank, log-log, with
the fitted Zipf law dashed), one-hit wonders in each tenth of the trace,
reuse distance and reuse time (CDFs), request rate over time, and object
and request sizes (CDFs).  A panel whose column the trace lacks (times,
sizes) says so instead.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from experiments.plots.labels import bytes_axis
from experiments.plots.style import STYLE, save


def draw(stats: dict, stem: Path) -> list[Path]:
    """Write the figure of one trace's stats as stem.png and stem.svg."""
    with plt.rc_context(STYLE):
        return save(figure(stats), stem)


def figure(stats: dict):
    fig, axes = plt.subplots(2, 3, figsize=(15, 8), layout="constrained")
    popularity(axes[0, 0], stats)
    one_hit_wonders(axes[0, 1], stats)
    reuse(axes[0, 2], stats)
    rate(axes[1, 0], stats)
    sizes(axes[1, 1], stats)
    summary(axes[1, 2], stats)
    fig.suptitle(
        f"{Path(stats['trace']).name}: {stats['requests']:,} requests, {stats['objects']:,} objects, "
        f"{stats['bytes']:,} bytes",
        fontsize=11,
    )
    return fig


def _missing(ax, title: str, what: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def popularity(ax, stats: dict) -> None:
    fit = stats["popularity"]
    ranks = np.array(fit["ranks"], dtype=float)
    ax.loglog(ranks[:, 0], ranks[:, 1], marker="o", markersize=3, label="trace")
    alpha, catalogue = fit["alpha"], fit["catalogue"]
    x = np.geomspace(1, max(catalogue, ranks[-1, 0]), 64)
    harmonic = np.sum(np.arange(1, min(catalogue, 10**6) + 1, dtype=float) ** -alpha)
    if catalogue > 10**6:  # the rest of H(N, alpha) as an integral
        harmonic += _tail(10**6, catalogue, alpha)
    ax.loglog(
        x,
        stats["requests"] * x**-alpha / harmonic,
        linestyle="--",
        color="black",
        linewidth=1,
        label=f"Zipf alpha {alpha:.3f}, N {catalogue:,} (KS {fit['ks']:.3f})",
    )
    ax.set_xlabel("object rank")
    ax.set_ylabel("requests")
    ax.set_ylim(bottom=0.5)
    ax.set_title("popularity")
    ax.legend()


def _tail(low: float, high: float, alpha: float) -> float:
    if abs(alpha - 1) < 1e-9:
        return float(np.log((high + 0.5) / (low + 0.5)))
    return float(((high + 0.5) ** (1 - alpha) - (low + 0.5) ** (1 - alpha)) / (1 - alpha))


def one_hit_wonders(ax, stats: dict) -> None:
    ohw = stats["one_hit_wonders"]
    windows = ohw["windows"]
    ax.bar(np.arange(1, len(windows) + 1), windows, color="tab:orange", alpha=0.7, label="in each tenth")
    ax.axhline(ohw["share"], color="black", linestyle="--", linewidth=1, label=f"whole trace {ohw['share']:.3f}")
    ax.set_xlabel("tenth of the trace (by requests)")
    ax.set_ylabel("share of its objects requested once")
    ax.set_ylim(0, 1.02)
    ax.set_title("one-hit wonders")
    ax.legend()


def reuse(ax, stats: dict) -> None:
    distance = np.array(stats["reuse_distance"].get("cdf", []), dtype=float)
    time = np.array(stats["reuse_time"].get("cdf", []), dtype=float)
    if not len(distance) and not len(time):
        return _missing(ax, "reuse", "no object is requested twice")
    if len(distance):
        rate = stats["reuse_distance"]["sample_rate"]
        sampled = "" if rate >= 1 else f", sampled at {rate:.3g}"
        ax.semilogx(distance[:, 0], distance[:, 1], label=f"distance (distinct objects{sampled})")
    if len(time):
        ax.semilogx(time[:, 0], time[:, 1], linestyle="--", label="time (requests)")
    ax.set_xlabel("since the previous request to the object")
    ax.set_ylabel("share of re-requests (CDF)")
    ax.set_ylim(0, 1.02)
    ax.set_title("reuse")
    ax.legend()


def rate(ax, stats: dict) -> None:
    if "rate" not in stats or not stats["rate"]["per_s"]:
        return _missing(ax, "request rate", "no timestamps in the trace")
    per_s = np.array(stats["rate"]["per_s"])
    step = stats["rate"]["interval_s"]
    ax.plot((np.arange(len(per_s)) + 0.5) * step, per_s)
    ax.axhline(stats["rate"]["mean_per_s"], color="black", linestyle="--", linewidth=1, label="mean")
    ax.set_xlabel("seconds into the trace")
    ax.set_ylabel("requests per second")
    ax.set_ylim(bottom=0)
    ax.set_title("request rate")
    ax.legend()


def sizes(ax, stats: dict) -> None:
    if "sizes" not in stats:
        return _missing(ax, "sizes", "no sizes in the trace")
    for name, style in (("object", "-"), ("request", "--")):
        cdf = np.array(stats["sizes"][name].get("cdf", []), dtype=float)
        if len(cdf):
            ax.semilogx(cdf[:, 0], cdf[:, 1], linestyle=style, label=f"{name}s")
    bytes_axis(ax.xaxis, True)
    ax.set_xlabel("size")
    ax.set_ylabel("CDF")
    ax.set_ylim(0, 1.02)
    ax.set_title("sizes")
    ax.legend()


def summary(ax, stats: dict) -> None:
    lines = [f"mean requests per object {stats['frequency']['mean']:.3g}, most {stats['frequency']['max']:,}"]
    top = stats["popularity"]["top_share"]
    lines.append(f"top 1% of objects: {top['1%']:.1%} of requests; top 10%: {top['10%']:.1%}")
    if "operations" in stats:
        lines.append(f"reads {stats['operations']['read']:.1%}, writes {stats['operations']['write']:.1%}")
    if "ttl" in stats:
        lines.append(f"writes setting a TTL {stats['ttl']['write_share']:.1%}, median {stats['ttl'].get('p50', 0):g} s")
    if "time" in stats:
        lines.append(f"time span {stats['time']['span_s']:,.0f} s")
    ax.axis("off")
    ax.set_title("in numbers")
    ax.text(0.0, 1.0, "\n".join(lines), va="top", transform=ax.transAxes, fontsize=9)
