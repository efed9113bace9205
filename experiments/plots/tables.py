"""What an experiment's figures are drawn from: DIR's manifest and tables, read and checked.

`load(DIR)` reads manifest.json, summary.csv, nodes.csv, latency.csv and
(when present) timeseries.csv and fleet.csv.  A missing, empty, damaged or incomplete file
is one line naming it and saying how to rewrite it, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.config import ConfigError
from experiments.output.tables import cell
from experiments.plots.labels import point_label
from sim.metrics import FLEET, TIMESERIES


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
    fleet: pd.DataFrame | None = None  # one row per change of the fleet (none: a fixed fleet)

    @property
    def swept(self) -> list[str]:
        return list(self.sweep)

    @property
    def one_node(self) -> bool:
        """Whether every run had a single node (then there is no per-node load to show)."""
        return self.config["cluster"]["nodes"] == 1 and "cluster.nodes" not in self.sweep


#: the columns each table must have, whatever was swept (the swept keys come first)
REQUIRED_COLUMNS = {
    "summary": ("seeds", "hit_ratio_mean", "hit_ratio_ci95", "p99_ms_mean"),
    "nodes": ("seed", "node", "requests", "share", "hit_ratio"),
    "latency": ("seed", "probability", "latency_ms"),
    "timeseries": ("seed", *TIMESERIES),
    "fleet": ("seed", *FLEET),
}


#: keys whose values name code (a policy, a module to import): their checks would import it, and a
#: figure needs only that they are there
NAMES_CODE = {
    ("cluster", "policy"),
    ("cluster", "policy_params"),
    ("cluster", "gutter"),
    ("near", "policy"),
    ("run", "imports"),
}


def config_damage(config: object) -> str | None:
    """What is wrong with a manifest's config, or None: kvsim writes every key of every section (SCHEMA),
    each a value its key's check accepts, and the figures read them as they are."""
    from experiments.config.checks import Invalid
    from experiments.config.schema import SCHEMA

    if not isinstance(config, dict):
        return "its config is not a table"
    for section, keys in SCHEMA.items():
        body = config.get(section)
        if not isinstance(body, dict):
            return f"its config has no section {section!r}"
        for name, key in keys.items():
            if name not in body:
                return f"its config has no key {section}.{name}"
            if (section, name) in NAMES_CODE:
                continue
            try:
                key.check(body[name])
            except Invalid as error:
                return f"its config's {section}.{name}: {error}"
    return None


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
        damage = config_damage(config)
        if damage:
            raise ValueError(damage)
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError, ValueError) as error:
        raise ConfigError(
            f"{manifest_path}: damaged, not a kvsim manifest ({type(error).__name__}: {error}); "
            f"`kvsim run CONFIG --out {out} --repair` rewrites it from the run files that verify"
        ) from None
    tables = {table: read_table(out, table) for table in ("summary", "nodes", "latency")}
    for optional in ("timeseries", "fleet"):  # fleet.csv: only a run whose fleet changes writes rows
        if (out / f"{optional}.csv").exists():
            tables[optional] = read_table(out, optional)
    for table, frame in tables.items():
        check_swept_columns(out / f"{table}.csv", frame, sweep)
        if table in NUMERIC_TABLES:
            check_numeric_columns(out / f"{table}.csv", frame, sweep)
    runs = manifest.get("runs")
    if isinstance(runs, int):
        # latency.csv has as many rows per run as the run recorded: count its runs, not its rows.
        found = {"summary": len(tables["summary"]), "latency": count_runs(tables["latency"], list(sweep))}
        for table, expected in {"summary": runs // seeds, "latency": runs}.items():
            if found[table] != expected:
                what = "rows" if table == "summary" else "runs"
                raise ConfigError(
                    f"{out / (table + '.csv')}: {found[table]} {what} where the manifest's {runs} runs make "
                    f"{expected}: the file is incomplete; run the experiment again (same command) to rewrite it"
                )
    for frame in tables.values():
        for key, values in sweep.items():
            if key in frame.columns:
                frame[key] = swept_column(frame[key], values)
    return Tables(name=name, config=config, sweep=sweep, seeds=seeds, **tables)


#: the tables whose every column but the swept keys holds numbers (fleet.csv has words too)
NUMERIC_TABLES = ("summary", "nodes", "latency", "timeseries")


def check_numeric_columns(path: Path, frame: pd.DataFrame, sweep: dict) -> None:
    """Every column but the swept keys numbers (an empty cell is a missing number), or ConfigError
    naming the column and the first cell that is not one: the figures compute with them."""
    for column in frame.columns:
        if column in sweep or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        cells = frame[column].dropna()
        numbers = pd.to_numeric(cells, errors="coerce")
        if numbers.isna().any():
            bad = cells[numbers.isna()].iloc[0]
            raise ConfigError(
                f"{path}: column {column!r} holds {bad!r} where a number belongs; "
                "run the experiment again (same command) to rewrite it"
            )
        frame[column] = pd.to_numeric(frame[column], errors="coerce")


def check_swept_columns(path: Path, frame: pd.DataFrame, sweep: dict) -> None:
    """Each swept key a column of the table with a value in every row, or ConfigError: the figures
    place every row by its swept values (a damaged header or an emptied cell would leave one nowhere)."""
    for key in sweep:
        if key not in frame.columns or (len(frame) and frame[key].isna().any()):
            raise ConfigError(
                f"{path}: the swept column {key!r} is missing or has empty cells; "
                "run the experiment again (same command) to rewrite it"
            )


def swept_column(column: pd.Series, values: list) -> pd.Series:
    """A swept key's column as the figures read it: each cell the value the manifest swept.

    A table writes a swept value as its cell (output.tables.cell: a number,
    a word, a table of parameters as "lognormal(median=4096, sigma=1.0)"), and
    reading it back loses the kind of value where a sweep mixes them (100 and
    "1KiB", 0 and a TTL distribution): pandas reads such a column as text.
    Here each cell becomes the manifest's value again (a number stays a
    number; a table of parameters stays its cell's text, the figures' label
    for it), so that whatever a sweep may hold, its figures can place it:
    on an axis when every value is a number of one kind, else as a category.
    """
    found = {_cell_identity(cell(value)): _figure_value(value) for value in values}
    typed = [found.get(_cell_identity(item), item) for item in column.tolist()]
    return pd.Series(typed, index=column.index, name=column.name)


def _figure_value(value):
    """A swept value as the figures hold it: a number or a word as it is, a table of parameters as its cell."""
    return value if isinstance(value, (bool, int, float, str)) else cell(value)


def _cell_identity(item) -> tuple:
    """What a cell holds, whether written by kvsim or read back by pandas: 100, 100.0 and "100" are one number."""
    if isinstance(item, (bool, np.bool_)):
        return ("bool", bool(item))
    if isinstance(item, (int, float, np.integer, np.floating)):
        return ("number", float(item))
    try:
        return ("number", float(item))
    except (TypeError, ValueError):
        return ("text", str(item))


def count_runs(frame: pd.DataFrame, swept: list[str]) -> int:
    """How many runs (seed and sweep point) a table has rows of."""
    keys = ["seed", *[key for key in swept if key in frame.columns]]
    return len(frame.groupby(keys, sort=False, dropna=False)) if len(frame) else 0


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


def series(frame: pd.DataFrame, swept: list[str], x_key: str | None) -> list[tuple[str, dict, pd.DataFrame]]:
    """(label, {key: value}, rows) for each combination of the swept keys other than `x_key`."""
    others = [key for key in swept if key != x_key]
    if not others:
        return [("", {}, frame)]
    short = {key: distinct_parts(frame[key].unique()) for key in others}
    found = []
    for values, rows in frame.groupby(others, sort=False):
        values = values if isinstance(values, tuple) else (values,)
        shown = [short[key].get(value, value) for key, value in zip(others, values)]
        found.append((point_label(others, shown), dict(zip(others, values)), rows))
    return found


def distinct_parts(values) -> dict:
    """Swept tables as cells ("{down_s=20, gap_s=0}") -> the parts in which they differ ("{gap_s=0}"), so
    that a legend says what changes from line to line; other values are left out (kept as they are)."""
    tables = [v for v in values if isinstance(v, str) and v.startswith("{") and v.endswith("}")]
    if len(tables) < 2 or len(tables) != len(values):
        return {}
    parts = {table: table[1:-1].split(", ") for table in tables}
    common = set.intersection(*(set(p) for p in parts.values()))
    return {table: "{" + ", ".join(p for p in parts[table] if p not in common) + "}" for table in tables}


def config_at(tables: Tables, values: dict) -> dict:
    """The base config with swept values (as the figures hold them, see swept_column) set as the manifest has them."""
    point = {section: dict(body) for section, body in tables.config.items()}
    for key, value in values.items():
        section, _, name = key.partition(".")
        identity = _cell_identity(value)
        swept = [item for item in tables.sweep.get(key, []) if _cell_identity(cell(item)) == identity]
        point[section][name] = swept[0] if swept else value.item() if isinstance(value, np.generic) else value
    return point
