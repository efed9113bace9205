"""The look every figure shares, and how a figure is written to disk.

Figures are written as PNG and SVG without the metadata that would change
their bytes from run to run (a date) or version to version (the software),
and SVG ids come from a fixed salt: the same tables draw the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed (CI, ssh); set before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

from experiments.output.outdir import atomic_write  # noqa: E402

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


def colors(count: int) -> list:
    """Distinct colours for a few series; a sequential map for many."""
    if count <= 10:
        return [plt.get_cmap("tab10")(i) for i in range(count)]
    return [plt.get_cmap("viridis")(i / max(1, count - 1)) for i in range(count)]


def marker(index: int) -> str:
    return MARKERS[index % len(MARKERS)]


#: said under a figure whose lines are drawn with `layered_widths`
LAYERED = "Each line is drawn thinner than the one before, over it: where two coincide, both show."


def layered_widths(count: int) -> list[float]:
    """Line widths for `count` lines without markers drawn in order: each thinner than the one beneath it."""
    if count == 1:
        return [1.5]
    return [max(0.8, 2.6 - 0.5 * index) for index in range(count)]


#: lines of legend entries that fit inside a panel; a longer legend goes beside the panels
PANEL_LEGEND_LINES = 12
#: a legend's entries are this many points high per line of text ("small" type, with spacing),
#: and a character this many inches wide
LEGEND_LINE_POINTS, LEGEND_CHARACTER_INCHES = 11.5, 0.07


def place_legends(fig, corners: dict, **options) -> None:
    """A legend in each panel of `corners` (axes -> location), as long as it fits there; else one beside the panels.

    A point's label names every swept value, and a zip of several keys makes
    entries of several lines: more than PANEL_LEGEND_LINES in all would hide
    the panel (or collapse it), so the panels' common legend goes to their
    right, and the figure grows by its width (and height, if it is taller).
    """
    first = next(iter(corners))
    handles, labels = first.get_legend_handles_labels()
    heights = [label.count("\n") + 1 for label in labels]
    if sum(heights) <= PANEL_LEGEND_LINES:
        for ax, location in corners.items():
            ax.legend(loc=location, **options)
        return
    if fig.legends:  # another panel of the figure placed the common legend already
        return
    fig.legend(handles, labels, loc="outside right upper")
    widest = max(len(line) for label in labels for line in label.split("\n"))
    fig.set_figwidth(fig.get_figwidth() + widest * LEGEND_CHARACTER_INCHES + 0.8)
    fig.set_figheight(max(fig.get_figheight(), sum(heights) * LEGEND_LINE_POINTS / 72 + 1.5))


def render(figure, suffix: str) -> bytes:
    """`figure`'s file in the format of `suffix` (a key of SUFFIXES), without the metadata that changes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=suffix[1:], dpi=DPI, metadata=SUFFIXES[suffix])
    return buffer.getvalue()


def render_all(figure) -> dict[str, bytes]:
    """`figure`'s file in each format of SUFFIXES, the layout made once.

    The first format's drawing lays the figure out (constrained layout
    measures every tick label: a third of the figure's time); the layout
    is then kept for the other formats, which draw the panels where the
    first put them.  So the SVG's layout is the PNG's, its text measured at
    DPI by the PNG's renderer, where the SVG renderer's own measure would
    differ by a fraction of a point.
    """
    files = {}
    for suffix in SUFFIXES:
        files[suffix] = render(figure, suffix)
        figure.set_layout_engine("none")  # (the panels keep the positions just computed)
    return files


def save(figure, stem: Path) -> list[Path]:
    """Write `figure` as stem.png and stem.svg, atomically, without metadata that changes run to run."""
    paths = []
    for suffix, data in render_all(figure).items():
        path = stem.with_suffix(suffix)
        atomic_write(path, data)
        paths.append(path)
    plt.close(figure)
    return paths


def remove_figures(out: Path, names) -> None:
    """Delete DIR/<name>.png and .svg for each name (figures an earlier plan drew)."""
    for name in names:
        for suffix in SUFFIXES:
            (out / f"{name}{suffix}").unlink(missing_ok=True)
