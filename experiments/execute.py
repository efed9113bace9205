"""Running the points of an experiment: in this process or a local pool.

Every run's result is written to DIR/runs/<run id>.json the moment it is
done, atomically (a temporary file renamed into place), so an interrupted
sweep loses at most the runs in progress, and running the same command again
runs only what is missing.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable, Iterable

from experiments.config import scenario
from experiments.sweep import Point
from sim import run


def run_point(point: Point) -> dict:
    """Simulate one point: a pure function of the point, safe in any process."""
    result = run(scenario(point.config), point.seed)
    return {"run_id": point.run_id, "index": point.index, "seed": point.seed,
            "values": point.values, "metrics": result.row(), "nodes": result.nodes(),
            "timeseries": result.timeseries}


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write a whole file or nothing: a temporary sibling, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    mode = "wb" if isinstance(text, bytes) else "w"
    with open(temporary, mode) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def saved_runs(runs_dir: Path, points: Iterable[Point]) -> dict[str, dict]:
    """The results already on disk for these points, by run id."""
    saved = {}
    for point in points:
        path = runs_dir / f"{point.run_id}.json"
        if path.exists():
            try:
                saved[point.run_id] = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue  # a damaged file is simply run again
    return saved


def execute(points: list[Point], runs_dir: Path, workers: int = 1,
            on_done: Callable[[dict], None] | None = None) -> list[dict]:
    """Run the points that have no saved result; return all results in point order."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    records = saved_runs(runs_dir, points)
    pending = [point for point in points if point.run_id not in records]

    def finished(record: dict) -> None:
        atomic_write(runs_dir / f"{record['run_id']}.json", json.dumps(record, sort_keys=True))
        records[record["run_id"]] = record
        if on_done:
            on_done(record)

    if workers <= 1 or len(pending) <= 1:
        for point in pending:
            finished(run_point(point))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_point, point) for point in pending}
            try:
                while futures:
                    done, futures = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        finished(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    return [records[point.run_id] for point in points]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def is_terminal() -> bool:
    return sys.stderr.isatty()
