"""The plan's figure: each target's metric against the varied key.

One panel per target: every value tried with every node up (mean and
confidence interval), the worst single failure at each value tried for it
(with `survive`: the worst node down, or the likely worst where that
alone decided), the target as a dashed line, the answer as a star with its
interval, and the values that do not meet the plan's question shaded (each
value tried owns the stretch up to halfway to its neighbours).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from experiments import plots
from experiments.plan.judge import HEALTHY, SCREEN, WORST
from experiments.plan.memory import format_bytes
from experiments.plan.settings import TARGETS

#: colours of the two series, and the shading of what does not meet the question
HEALTHY_COLOR, FAILURE_COLOR, SCREEN_COLOR, SHADE = "tab:blue", "tab:red", "tab:orange", "0.85"

#: how far beyond the values tried the capacity axis reaches, as a factor
MARGIN = 1.15


def draw(plan) -> list[Path]:
    """Write DIR/plan.png and DIR/plan.svg; returns the files."""
    targets = plan.question.settings.targets
    with plt.rc_context(plots.STYLE):
        fig, axes = plt.subplots(
            1, len(targets), figsize=(5.2 * len(targets), 4.2), squeeze=False, layout="constrained"
        )
        for ax, name in zip(axes.flat, targets):
            panel(ax, plan, name)
        fig.suptitle(title(plan), fontsize=10)
        return plots.save(fig, plan.out / "plan")


def title(plan) -> str:
    asked = plan.question
    goals = ", ".join(TARGETS[name].describe(bound) for name, bound in asked.settings.targets.items())
    survive = "; with the worst node down" if asked.settings.survive else ""
    verdict = (
        f"answer {asked.vary} = {value_label(asked, plan.value)}" if plan.met else "no value in the range meets it"
    )
    intervals = f"{asked.settings.confidence:.0%} confidence intervals over seeds"
    return f"{asked.name}: plan for {goals}{survive}\n{verdict}; {intervals}"


def panel(ax, plan, name: str) -> None:
    asked = plan.question
    target = TARGETS[name]
    healthy = sorted((v for v in plan.verdicts if v.failure == HEALTHY), key=lambda v: v.value)
    tried = sorted({v.value for v in plan.verdicts})
    shaded = shade(ax, plan, tried)
    series(ax, healthy, name, HEALTHY_COLOR, "o", "all nodes up")
    if asked.settings.survive:
        for failure, color, marker in ((WORST, FAILURE_COLOR, "s"), (SCREEN, SCREEN_COLOR, "v")):
            down = sorted((v for v in plan.survival.values() if v.failure == failure), key=lambda v: v.value)
            series(ax, down, name, color, marker, f"{failure} node down")
    ax.axhline(asked.settings.targets[name], color="0.25", linestyle="--", linewidth=1.2, label="target")
    if plan.met:
        chosen = plan.survival[plan.value] if asked.settings.survive else plan.verdict(plan.value)
        found = chosen.intervals[name]
        ax.errorbar(
            [plan.value],
            [found.mean],
            yerr=[[found.mean - found.low], [found.high - found.mean]],
            marker="*",
            markersize=14,
            color="black",
            capsize=4,
            linestyle="none",
            label=f"answer: {value_label(asked, plan.value)}",
            zorder=5,
        )
    ax.set_title(target.describe(asked.settings.targets[name]))
    ax.set_ylabel(f"{target.label} ({target.unit})" if target.unit else target.label)
    ax.set_xlabel(plots.axis_label(asked.vary, [asked.written(asked.low)]))
    ax.set_xlim(*view(asked, tried))
    if asked.settings.varies_nodes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    elif ax.get_xlim()[1] >= 8 * ax.get_xlim()[0]:
        ax.set_xscale("log")
    if asked.counts_bytes and not asked.settings.varies_nodes:
        if ax.get_xscale() == "linear":
            ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: format_bytes(x)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    handles, labels = ax.get_legend_handles_labels()
    if shaded:
        handles.append(Patch(color=SHADE, alpha=0.6, linewidth=0))
        labels.append("not met")
    ax.legend(handles, labels)


def view(asked, values: list[int]) -> tuple[float, float]:
    """The x range shown: the values tried, with a margin, within the plan's range (a range of
    one value, LO = HI, is shown with the margin around it)."""
    if asked.settings.varies_nodes:
        return max(asked.low, min(values)) - 0.5, min(asked.high, max(values)) + 0.5
    low, high = max(asked.low, min(values) / MARGIN), min(asked.high, max(values) * MARGIN)
    return (low, high) if low < high else (low / MARGIN, high * MARGIN)


def series(ax, verdicts, name: str, color, marker: str, label: str) -> None:
    if not verdicts:
        return
    x = np.array([v.value for v in verdicts], float)
    mean = np.array([v.intervals[name].mean for v in verdicts])
    low = np.array([v.intervals[name].low for v in verdicts])
    high = np.array([v.intervals[name].high for v in verdicts])
    ax.errorbar(
        x, mean, yerr=[mean - low, high - mean], color=color, marker=marker, capsize=3, linestyle=":", label=label
    )


def shade(ax, plan, tried: list[int]) -> bool:
    """Shade the stretches of the axis whose values do not meet the question; whether any were."""
    asked = plan.question
    fails = [not meets(plan, value) for value in tried]
    edges = cell_edges(tried, asked.low, asked.high, geometric=not asked.settings.varies_nodes)
    for (left, right), failed in zip(edges, fails):
        if failed:
            ax.axvspan(left, right, color=SHADE, alpha=0.6, linewidth=0, zorder=0)
    return any(fails)


def meets(plan, value: int) -> bool:
    """Whether a value tried meets the whole question: with `survive`, also with its worst node down.

    The search with a node down starts above the healthy answer, so a value
    it tried may have no verdict with every node up (it meets that there,
    the search being monotone); a value the healthy search passed on its way
    may have no verdict with a node down: at or above the answer, it meets it.
    """
    healthy = plan.verdict(value)
    if healthy is not None and not healthy.met:
        return False
    if not plan.question.settings.survive:
        return True
    survival = plan.survival.get(value)
    if survival is not None:
        return survival.met
    return plan.met and value >= plan.value


def value_label(asked, value: int) -> str:
    return format_bytes(value) if asked.counts_bytes and not asked.settings.varies_nodes else f"{value:,}"


def cell_edges(values: list[int], low: int, high: int, geometric: bool) -> list[tuple[float, float]]:
    """For sorted values, the stretch each owns: halfway to each neighbour (geometrically for capacity)."""

    def middle(a: float, b: float) -> float:
        return math.sqrt(a * b) if geometric and a > 0 else (a + b) / 2

    cuts = [middle(a, b) for a, b in zip(values, values[1:])]
    return list(zip([low, *cuts], [*cuts, high]))
