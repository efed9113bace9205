"""The folder of a `kvsim replay --out DIR` grid: saved cells, the tables, the figures.

DIR/replay.json          what the folder holds: the command's traces, policies, sizes, warm-up,
                         and each trace's footprint when sizes are shares of it
DIR/runs/replay-*.json   one file per finished cell (what a resumed command reads)
DIR/replay.csv           one row per trace, policy and size (grid.GRID_FIELDS)
DIR/reduction.csv        with several traces: each policy's miss-ratio reduction from FIFO at the
                         10th, 25th, 50th, 75th and 90th percentile over the traces, per size
DIR/miss_ratio.png, .svg and (several traces) reduction.png, .svg: experiments/plots/replay.py

Like `kvsim run`, the command locks DIR while it writes (experiments/output/
outdir.py's claim), writes every file whole or not at all (atomic_write),
and resumes: a cell whose file verifies (its id, the digest of everything
that decides its numbers, and numbers in their domains) is not replayed
again, so an interrupted grid loses only the tasks in progress, and a grid
with more policies or sizes replays only what it adds.  A folder holding an
experiment (manifest.json) or a miss-ratio curve (mrc.json) is refused
unless --force, which writes the grid beside them; a folder holding another
grid is reused (each saved cell names what it is the result of, so the ones
that match are kept, whatever replay.json says), and --force starts it from
nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.output.domains import ResultError, check_numbers, check_table
from experiments.output.outdir import OutputError, atomic_write
from experiments.trace.grid import GRID_FIELDS, Cell, Grid, digest
from workloads.traces import Footprint

MANIFEST, TABLE, REDUCTION = "replay.json", "replay.csv", "reduction.csv"
PREFIX = "replay-"
#: the percentiles over traces of the across-trace figure (as the S3-FIFO and SIEVE papers draw them)
PERCENTILES = (10, 25, 50, 75, 90)
BASELINE = "fifo"


class GridFolder:
    """DIR's saved cells and footprints, read and written one file each."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.runs = self.out / "runs"

    def rows(self, cells: list[Cell]) -> dict[str, dict]:
        """cell id -> saved row, for the cells whose file verifies."""
        found = {}
        for cell in cells:
            record = self._read(self.runs / f"{PREFIX}{cell.id}.json")
            if _verified(record, cell):
                # The numbers are the file's; the labels this command's (a trace may be named another way now).
                labels = {"trace": cell.name, "policy": cell.policy, "capacity": cell.capacity, "size": cell.amount}
                labels["unit"] = "bytes" if cell.counts_bytes else "objects"
                found[cell.id] = {name: labels.get(name, record["row"][name]) for name in GRID_FIELDS}
        return found

    def save(self, cell: Cell, row: dict) -> None:
        atomic_write(self.runs / f"{PREFIX}{cell.id}.json", json.dumps({"id": cell.id, "row": row}, sort_keys=True))

    def footprint(self, trace: dict) -> Footprint | None:
        record = self._read(self.runs / f"{PREFIX}footprint-{digest(trace)}.json")
        try:
            if record["trace"] == trace:
                found = Footprint(**record["footprint"])
                if all(isinstance(value, int) and value >= 0 for value in found.__dict__.values()):
                    return found
        except (KeyError, TypeError):
            pass
        return None

    def save_footprint(self, trace: dict, counted: dict) -> None:
        text = json.dumps({"trace": trace, "footprint": counted}, sort_keys=True)
        atomic_write(self.runs / f"{PREFIX}footprint-{digest(trace)}.json", text)

    @staticmethod
    def _read(path: Path):
        try:
            return json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None


def _verified(record, cell: Cell) -> bool:
    """Whether a saved record is this cell's result: its id, every column, numbers in their domains."""
    if not isinstance(record, dict) or record.get("id") != cell.id or not isinstance(record.get("row"), dict):
        return False
    row = record["row"]
    if any(name not in row for name in GRID_FIELDS) or (row["policy"], row["size"]) != (cell.policy, cell.amount):
        return False
    try:
        check_numbers({name: row[name] for name in GRID_FIELDS[5:10]}, "a saved cell")
    except (ResultError, TypeError):
        return False
    return True


# -- the folder as a whole -------------------------------------------------------------------


def describe(grid: Grid) -> dict:
    """replay.json's description of the grid (what `kvsim plot` and the figures read)."""
    return {
        "replay": {
            "traces": list(grid.names),
            "policies": list(grid.policies),
            "capacities": [size.written for size in grid.sizes],
            "warmup": grid.warmup,
        }
    }


def prepare(out: Path, force: bool) -> None:
    """Refuse a folder holding someone else's results unless --force; with --force clear a grid's files."""
    if force:
        clear(out)
        return
    if (out / "manifest.json").exists():
        raise OutputError(
            f"--out {out} holds an experiment's results (manifest.json); choose another --out, "
            "or pass --force to write the grid beside them"
        )
    if (out / "mrc.json").exists() or (out / "mrc.csv").exists():
        raise OutputError(
            f"--out {out} holds a miss-ratio curve (mrc.json); choose another --out, "
            "or pass --force to write the grid beside it"
        )


def clear(out: Path) -> None:
    """Remove what a grid wrote to `out` (and nothing else of the folder)."""
    from experiments.plots import replay as figures

    for path in out.glob(f"runs/{PREFIX}*.json"):
        path.unlink(missing_ok=True)
    for name in (MANIFEST, TABLE, REDUCTION):
        (out / name).unlink(missing_ok=True)
    figures.remove(out)


def write(out: Path, grid: Grid, rows: list[dict], footprints: dict) -> list[Path]:
    """replay.json, replay.csv, reduction.csv (several traces) and the figures; returns the files written."""
    from experiments.plots import replay as figures  # matplotlib loads only now

    manifest = describe(grid)
    manifest["footprints"] = {grid.names[index]: found.__dict__ for index, found in sorted(footprints.items())}
    atomic_write(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    table = pd.DataFrame(rows, columns=list(GRID_FIELDS))
    check_table(table, TABLE)
    atomic_write(out / TABLE, table.to_csv(index=False))
    written = [out / MANIFEST, out / TABLE]
    reduction = reduction_table(table)
    if reduction is not None:
        atomic_write(out / REDUCTION, reduction.to_csv(index=False))
        written.append(out / REDUCTION)
    else:
        (out / REDUCTION).unlink(missing_ok=True)
    return written + figures.draw(out)


def reduction_table(table: pd.DataFrame) -> pd.DataFrame | None:
    """Each policy's miss-ratio reduction from FIFO, (FIFO's - its) / FIFO's, at PERCENTILES over traces.

    One row per policy and size; None with fewer than two traces or no FIFO
    in the grid.  A trace where FIFO never misses has no reduction and is
    left out (``traces`` counts those used).
    """
    if table["trace"].nunique() < 2 or BASELINE not in set(table["policy"]):
        return None
    key = ["trace", "capacity"]
    base = table[table["policy"] == BASELINE].set_index(key)["miss_ratio"]
    rows = []
    for (policy, capacity), group in table.groupby(["policy", "capacity"], sort=False):
        if policy == BASELINE:
            continue
        fifo = base.reindex(pd.MultiIndex.from_arrays([group["trace"], group["capacity"]])).to_numpy(float)
        usable = fifo > 0
        reduction = (fifo[usable] - group["miss_ratio"].to_numpy(float)[usable]) / fifo[usable]
        if not len(reduction):
            continue
        row = {"policy": policy, "capacity": capacity, "traces": len(reduction)}
        row |= {f"p{q}": float(np.percentile(reduction, q)) for q in PERCENTILES}
        row["mean"] = float(reduction.mean())
        rows.append(row)
    return pd.DataFrame(rows) if rows else None
