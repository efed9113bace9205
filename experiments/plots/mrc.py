"""The miss-ratio curve of `kvsim mrc`, drawn from the files of its folder.

DIR/mrc.csv   capacity, miss_ratio (and byte_miss_ratio when the trace has sizes)
DIR/mrc.json  what curve the folder holds: the trace, policy, capacities and
              method (`kvsim mrc` refuses to replace another curve's folder
              without --force), and what the figure's title says
DIR/mrc.png, mrc.svg  the curve

`kvsim plot DIR` redraws the figure from these two files, with the same
bytes as `kvsim mrc` drew.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from experiments.config import ConfigError
from experiments.plots.labels import bytes_axis
from experiments.plots.style import STYLE, save

CSV, MANIFEST, FIGURE = "mrc.csv", "mrc.json", "mrc"

#: mrc.json's "method" (policies.mrc.MissRatioCurve.method) as the title says it
METHODS = {"shards": "SHARDS R={rate:.3g}", "mini": "mini-sim R={rate:.3g}"}


def read_manifest(out: Path) -> dict | None:
    """DIR/mrc.json: None when there is none, {} when it is damaged."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("curve"), dict) else {}


def holds_curve(out: Path) -> bool:
    """Whether DIR holds a miss-ratio curve (its table, or its manifest)."""
    return (Path(out) / CSV).exists() or (Path(out) / MANIFEST).exists()


def read_curve(out: Path) -> pd.DataFrame:
    """DIR/mrc.csv, checked: one line naming what is wrong with it otherwise."""
    path = Path(out) / CSV
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: missing; run `kvsim mrc TRACE --out {out}` again to write it") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError):
        raise ConfigError(f"{path}: not a miss-ratio curve; run `kvsim mrc` again to rewrite it") from None
    if not {"capacity", "miss_ratio"} <= set(table.columns) or table.empty:
        raise ConfigError(f"{path}: not a miss-ratio curve (columns capacity, miss_ratio); run `kvsim mrc` again")
    return table


def curve_figure(table: pd.DataFrame, about: dict):
    """Miss ratio (and byte miss ratio) against capacity; `about` is mrc.json's description of the curve."""
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    x = table["capacity"].to_numpy(float)
    marker = "o" if len(x) <= 60 else None
    ax.plot(x, table["miss_ratio"], marker=marker, markersize=3, label="miss ratio")
    if "byte_miss_ratio" in table.columns:
        ax.plot(x, table["byte_miss_ratio"], marker=marker, markersize=3, linestyle="--", label="byte miss ratio")
        ax.legend()
    log = x[0] > 0 and x[-1] / x[0] >= 20
    if log:
        ax.set_xscale("log")
    count_bytes = about.get("count_bytes")
    if count_bytes:
        bytes_axis(ax.xaxis, log)
    unit = {True: " (bytes)", False: " (objects)"}.get(count_bytes, "")
    ax.set_xlabel(f"cache capacity{unit}")
    ax.set_ylabel("miss ratio (misses / requests)")
    ax.set_ylim(0, 1.02)
    method = METHODS.get(about.get("method"), "exact").format(rate=about.get("rate", 1.0))
    ax.set_title(f"{about.get('trace', '?')}: {about.get('policy', '?')} ({method})")
    return fig


def draw_curve(out: Path) -> list[Path]:
    """Draw DIR/mrc.png and mrc.svg from mrc.csv (and mrc.json); returns the files written."""
    out = Path(out)
    table = read_curve(out)
    about = (read_manifest(out) or {}).get("about", {})
    with plt.rc_context(STYLE):
        return save(curve_figure(table, about), out / FIGURE)
