"""The plan's figure: each target's metric against the varied key.

One panel per target: every value tried with every node up (mean and
confidence interval), the worst single failure at each value tried for it
(with `survive`: the worst node down, or the likely worst where that
alone decided), the target as a dashed line, the answer as a star with its
interval, and the values that do not meet that panel's target shaded (each
value tried owns the stretch up to halfway to its neighbours).  The legend
stands right of the panels, where it hides no line; a note under them says
what the failure series are.  A capacity in bytes is ticked at round
multiples of its binary unit (2 MiB, 2.5 MiB), never at round numbers of
bytes (1.91 MiB).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, Locator, MaxNLocator, NullFormatter

from experiments import plots
from experiments.plan.judge import HEALTHY, SCREEN, WORST, outcome
from experiments.plan.memory import format_bytes
from experiments.plan.settings import TARGETS
from experiments.plots.frame import caption

#: colours of the two series, and the shading of what does not meet the question
HEALTHY_COLOR, FAILURE_COLOR, SCREEN_COLOR, SHADE = "tab:blue", "tab:red", "tab:orange", "0.85"

#: how far beyond the values tried the capacity axis reaches, as a factor
MARGIN = 1.15


def draw(plan) -> list[Path]:
    """Write DIR/plan.png and DIR/plan.svg; returns the files."""
    with plt.rc_context(plots.STYLE):
        return plots.save(make_figure(plan), plan.out / "plan")


def make_figure(plan):
    """The plan's figure (call within plots.STYLE), to save or to read back."""
    targets = plan.question.settings.targets
    fig, axes = plt.subplots(1, len(targets), figsize=(5.2 * len(targets), 4.2), squeeze=False, layout="constrained")
    shaded = [panel(ax, plan, name) for ax, name in zip(axes.flat, targets)]
    legend(fig, axes.flat, any(shaded))
    fig.suptitle(title(plan), fontsize=10)
    caption(fig, notes(plan))
    return fig


def legend(fig, axes, shaded: bool) -> None:
    """One legend for every panel, right of them: inside a panel it hid the target line or points."""
    entries: dict = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    if shaded:
        entries[NOT_MET] = Patch(color=SHADE, alpha=0.6, linewidth=0)
    fig.legend(list(entries.values()), list(entries), loc="outside right center", fontsize=8)


#: the shading's legend entry: each panel shades where a run did not meet its own target
NOT_MET = "its target not met (or undecided)"


def notes(plan) -> list[str]:
    """What a reader needs to read the failure series, and why the top of an unmet range stops there."""
    said = []
    if plan.question.settings.survive:
        said.append(
            "Worst node down: each seed's cluster loses each node in turn (from the start of the measured "
            "window) and each metric takes its worst over those failures. Likely worst node down: only each "
            "seed's likely worst node was failed (the worst at the nearest value already judged, else the "
            "busiest): where a target misses there, it misses the worst, so the value is decided without the others."
        )
    if not plan.met:
        said.append(ceiling_note(plan))
    return said


def title(plan) -> str:
    asked = plan.question
    goals = ", ".join(TARGETS[name].describe(bound) for name, bound in asked.settings.targets.items())
    survive = "; with the worst node down" if asked.settings.survive else ""
    verdict = (
        f"answer {asked.vary} = {value_label(asked, plan.value)}" if plan.met else "no value in the range meets it"
    )
    intervals = f"{asked.settings.confidence:.0%} confidence intervals over seeds"
    return f"{asked.name}: plan for {goals}{survive}\n{verdict}; {intervals}"


def panel(ax, plan, name: str) -> bool:
    """Draw target `name`'s panel; whether it shades a stretch where the target is missed."""
    asked = plan.question
    target = TARGETS[name]
    healthy = sorted((v for v in plan.verdicts if v.failure == HEALTHY), key=lambda v: v.value)
    tried = sorted({v.value for v in plan.verdicts})
    shaded = shade(ax, plan, name, tried)
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
        if ax.get_xscale() == "log":
            ax.xaxis.set_major_locator(BinaryUnitLocator(log=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: format_bytes(x)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    if asked.counts_bytes and not asked.settings.varies_nodes and ax.get_xscale() == "linear":
        ax.xaxis.set_major_locator(BinaryUnitLocator())
    return shaded


def view(asked, values: list[int]) -> tuple[float, float]:
    """The x range shown: the values tried, with a margin, from the plan's range's low end up (a value
    tried at the top of the range keeps its margin: its marker and interval are not cut in half)."""
    if asked.settings.varies_nodes:
        return max(asked.low, min(values)) - 0.5, max(values) + 0.5
    low, high = max(asked.low, min(values) / MARGIN), max(values) * MARGIN
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


def shade(ax, plan, name: str, tried: list[int]) -> bool:
    """Shade the stretches of the axis whose values miss target `name`; whether any were."""
    asked = plan.question
    fails = [not meets(plan, value, name) for value in tried]
    low, high = view(asked, tried)
    edges = cell_edges(tried, low, high, geometric=not asked.settings.varies_nodes)
    for (left, right), failed in zip(edges, fails):
        if failed:
            ax.axvspan(left, right, color=SHADE, alpha=0.6, linewidth=0, zorder=0)
    return any(fails)


def meets(plan, value: int, name: str) -> bool:
    """Whether no run at a value tried missed target `name` (with every node up, or with a node down).

    A panel shades its own target's misses: the p99 panel of a plan that
    misses its hit ratio at a value must not shade that value where p99
    holds.  A value the healthy search passed on its way may have no verdict
    with a node down: what is not known to miss is not shaded.
    """
    target = {name: plan.question.settings.targets[name]}
    judged = [plan.verdict(value), plan.survival.get(value) if plan.question.settings.survive else None]
    return all(outcome({name: v.intervals[name]}, target) == "met" for v in judged if v is not None)


#: the targets a bigger cache serves by holding more keys (what caps them is the stream's footprint)
RATIOS = ("hit_ratio", "byte_hit_ratio")


def ceiling_note(plan) -> str:
    """Why an unmet range stops where it does: the range's end, or, where the cluster at its top holds
    the stream's whole footprint, the misses that no capacity removes."""
    asked = plan.question
    top = value_label(asked, asked.high) + ("" if asked.counts_bytes or asked.settings.varies_nodes else " objects")
    if asked.settings.varies_nodes or not any(name in asked.settings.targets for name in RATIOS):
        return f"Nothing tried meets every target; the range stops at {top} (--range LO:HI goes further)."
    found = asked.sample
    footprint = found.distinct_bytes if asked.counts_bytes else found.distinct_keys
    held = asked.capacity_at(asked.high) * asked.nodes_at(asked.high)
    keys = f"{found.distinct_keys:,} keys" + (f", {format_bytes(found.distinct_bytes)}" if asked.counts_bytes else "")
    if held < footprint:
        return (
            f"Nothing tried meets every target; the range stops at {top} per node, where the cluster holds less "
            f"than the stream's footprint ({keys}): --range LO:HI goes further."
        )
    return (
        f"Nothing tried meets every target: at the range's top, {top} per node, the cluster can hold every key "
        f"the stream requests ({keys}), so the hit ratio there is capped by misses no capacity removes: each "
        "key's first request, and expiries, invalidations and writes where the config has them."
    )


class BinaryUnitLocator(Locator):
    """Ticks of a byte axis at round numbers of its binary unit: 2 MiB, 2.5 MiB, 3 MiB (linear), or
    at powers of two of it: 1 MiB, 2 MiB, 4 MiB (`log`), never at round numbers of bytes."""

    def __init__(self, log: bool = False):
        self.log = log

    def __call__(self):
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin: float, vmax: float):
        vmin, vmax = sorted((max(vmin, 1.0), max(vmax, 1.0)))
        unit = binary_unit(vmax)
        if self.log:
            first, last = math.floor(math.log2(vmin / unit)), math.ceil(math.log2(vmax / unit))
            return [unit * 2.0**power for power in range(first, last + 1)]
        steps = MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]).tick_values(vmin / unit, vmax / unit)
        return [unit * step for step in steps]


def binary_unit(amount: float) -> float:
    """The largest binary unit (B, KiB, MiB...) that `amount` holds at least once."""
    unit = 1.0
    while amount >= unit * 1024 and unit < 2**40:
        unit *= 1024
    return unit


def value_label(asked, value: int) -> str:
    return format_bytes(value) if asked.counts_bytes and not asked.settings.varies_nodes else f"{value:,}"


def cell_edges(values: list[int], low: int, high: int, geometric: bool) -> list[tuple[float, float]]:
    """For sorted values, the stretch each owns: halfway to each neighbour (geometrically for capacity)."""

    def middle(a: float, b: float) -> float:
        return math.sqrt(a * b) if geometric and a > 0 else (a + b) / 2

    cuts = [middle(a, b) for a, b in zip(values, values[1:])]
    return list(zip([low, *cuts], [*cuts, high]))
