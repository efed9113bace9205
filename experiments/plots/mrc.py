"""The folder of a `kvsim mrc` miss-ratio curve: its files, who may write there, and its figure.

DIR/mrc.csv   capacity, miss_ratio (and byte_miss_ratio when the trace has sizes, exact_miss_ratio
              with --check)
DIR/mrc.json  what curve the folder holds: the trace, policy, capacities and
              method (`kvsim mrc` refuses to replace another curve's folder
              without --force), and what the figure's title says
DIR/mrc.png, mrc.svg  the curve

`kvsim plot DIR` redraws the figure from these two files, with the same
bytes as `kvsim mrc` drew.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.config import ConfigError
from experiments.output import outdir
from experiments.output.outdir import OutputError, atomic_write
from experiments.plots.labels import bytes_axis
from experiments.plots.style import STYLE, save

CSV, MANIFEST, FIGURE = "mrc.csv", "mrc.json", "mrc"

#: mrc.json's "method" (experiments.analysis.curve.MissRatioCurve.method) as the title says it
METHODS = {"shards": "SHARDS R={rate:.3g}", "mini": "mini-sim R={rate:.3g}"}


def read_manifest(out: Path) -> dict | None:
    """DIR/mrc.json: None when there is none, {} when it is damaged."""
    return outdir.read_manifest(Path(out) / MANIFEST, "curve", dict)


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
    return checked_columns(table, path)


def checked_columns(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The curve's columns as numbers in their domains, or ConfigError naming the first cell that is not.

    `kvsim mrc` writes positive capacities, ascending, and ratios from 0 to 1;
    a cell edited or damaged since (a word, an empty cell, nan, 1e300) would
    otherwise reach the figure and end in a traceback there.
    """
    ratios = [name for name in ("miss_ratio", "byte_miss_ratio") if name in table.columns]
    numbers = {name: pd.to_numeric(table[name], errors="coerce") for name in ("capacity", *ratios)}
    for name, column in numbers.items():
        low, high = (0.0, 1.0) if name in ratios else (0.0, math.inf)
        bad = ~(column.between(low, high) & np.isfinite(column) & ((column > 0) | (name in ratios)))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            allowed = "a ratio from 0 to 1" if name in ratios else "a positive number"
            raise ConfigError(
                f"{path}: row {row + 2}: {name} = {_cell_text(table[name].iloc[row])} is not {allowed}; "
                "run `kvsim mrc` again to rewrite it"
            )
    if not (np.diff(numbers["capacity"].to_numpy()) > 0).all():
        raise ConfigError(f"{path}: the capacities are not ascending; run `kvsim mrc` again to rewrite it")
    return table.assign(**numbers)


def _cell_text(item) -> str:
    """A cell as a message quotes it: text as written, a number as Python prints it (not np.float64(...))."""
    return repr(item) if isinstance(item, str) else repr(item.item() if isinstance(item, np.generic) else item)


def curve_figure(table: pd.DataFrame, about: dict):
    """Miss ratio (and byte miss ratio) against capacity; `about` is mrc.json's description of the curve."""
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    x = table["capacity"].to_numpy(float)
    marker = "o" if len(x) <= 60 else None
    ax.plot(x, table["miss_ratio"], marker=marker, markersize=3, label="miss ratio")
    if "byte_miss_ratio" in table.columns:
        ax.plot(x, table["byte_miss_ratio"], marker=marker, markersize=3, linestyle="--", label="byte miss ratio")
    if "exact_miss_ratio" in table.columns:  # --check: the full replays beside the sampled curve
        ax.plot(
            x, table["exact_miss_ratio"], color="black", linewidth=1, linestyle=":", label="miss ratio, full replays"
        )
    if len(ax.get_lines()) > 1:
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
    about = figure_about((read_manifest(out) or {}).get("about"))
    with plt.rc_context(STYLE):
        return save(curve_figure(table, about), out / FIGURE)


def figure_about(about) -> dict:
    """mrc.json's "about", the fields the figure reads kept only where they are what `kvsim mrc` writes.

    A damaged field is left out and the figure says "?" (or "exact") there
    instead: the curve itself comes from mrc.csv, checked by read_curve.
    """
    if not isinstance(about, dict):
        return {}
    kinds = {"trace": str, "policy": str, "method": str, "count_bytes": bool}
    kept = {name: about[name] for name, kind in kinds.items() if isinstance(about.get(name), kind)}
    rate = about.get("rate")
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate <= 1:
        kept["rate"] = rate
    return kept


def refuse_another(out: Path, identity: dict, force: bool) -> None:
    """OutputError unless `out` holds nothing of anyone else's, or this very curve (`identity`), or --force."""
    held = read_manifest(out)
    if force or (held is not None and held.get("curve") == identity):
        return
    if (out / "manifest.json").exists():
        raise OutputError(
            f"--out {out} holds an experiment's results (manifest.json); choose another --out, "
            "or pass --force to write the curve beside them"
        )
    if held:
        curve = held["curve"]
        trace = Path(str(curve.get("trace"))).name
        what = f"{curve.get('policy')} on {trace}, {len(curve.get('capacities') or [])} capacities"
        raise OutputError(
            f"--out {out} holds another miss-ratio curve ({what}); choose another --out, or pass --force to replace it"
        )
    if held is not None or holds_curve(out):
        raise OutputError(
            f"--out {out} holds a miss-ratio curve without a readable {MANIFEST}; choose another --out, "
            "or pass --force to replace it"
        )


def write(out: Path, table: pd.DataFrame, manifest: dict) -> list[Path]:
    """mrc.csv, mrc.json, then the figure drawn from them as `kvsim plot` draws it; returns the figure's files."""
    atomic_write(out / CSV, table.to_csv(index=False))
    atomic_write(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return draw_curve(out)
