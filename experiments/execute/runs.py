"""Run files: one per finished run, verified before it is trusted, so a sweep resumes.

Every run's result is written to DIR/runs/<run id>.json the moment it is
done, atomically (a temporary file renamed into place), so an interrupted
sweep loses at most the runs in progress, and running the same command again
runs only what is missing.  A run file carries its point's identity and the
experiment's fingerprint; one that does not verify against the point it
would stand for (another experiment's, a damaged one, numbers outside their
domain) is simulated again.  Records are kept as the JSON they round-trip
through, so a resumed sweep and a fresh one build byte-identical tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from experiments.config.sweep import Point
from experiments.execute.executors import InProcess
from experiments.output.domains import ResultError, check_numbers
from experiments.output.outdir import atomic_write
from sim import METRICS
from sim.histogram import LatencyHistogram


def check_record(record: dict) -> None:
    """Every number of a run's record within its domain (ResultError otherwise): before it is saved."""
    where = f"run {record['run_id']}"
    check_numbers(record["metrics"], where)
    for node in record["nodes"]:
        check_numbers(node, f"{where}, node {node.get('node')}")
    for row in record["timeseries"]:
        check_numbers(row, f"{where}, time series at t = {row.get('t_start')}")
    for row in record["fleet"]:
        check_numbers(row, f"{where}, fleet change at t = {row.get('time_s')}")
    for row in record["restarts"]:
        check_numbers(row, f"{where}, rolling restart {row.get('restart')}")
    for value in record["latency_quantiles"]:
        check_numbers({"latency_ms": value}, f"{where}, latency quantiles")
    try:
        LatencyHistogram.from_record(record["latency_histogram"])
    except (ValueError, TypeError, KeyError):
        raise ResultError(f"{where}: latency_histogram is not a histogram of counts") from None


#: what a run file holds: its point's identity, the experiment's fingerprint and the results
RECORD_KEYS = (
    "run_id",
    "fingerprint",
    "index",
    "seed",
    "values",
    "metrics",
    "nodes",
    "timeseries",
    "fleet",
    "restarts",
    "latency_quantiles",
    "latency_histogram",
)


def unverified_reason(record, point: Point, fingerprint: str) -> str | None:
    """Why a saved run file is not `point`'s result in this experiment; None when it is."""
    if not isinstance(record, dict) or any(key not in record for key in RECORD_KEYS):
        return "not a complete run record"
    if record["fingerprint"] != fingerprint:
        return "written by another experiment (or another version of a policy module)"
    if (record["run_id"], record["index"], record["seed"]) != (point.run_id, point.index, point.seed):
        return "holds another run's results"
    if record["values"] != json.loads(json.dumps(point.values, default=str)):
        return "holds another sweep point's results"
    if not isinstance(record["metrics"], dict) or set(record["metrics"]) != set(METRICS):
        return "lacks metrics"
    try:
        check_record(record)
    except (ResultError, TypeError, AttributeError, KeyError):
        return "holds numbers outside their domain"
    return None


@dataclass
class Saved:
    """What a runs/ directory holds for an experiment's points."""

    records: dict = field(default_factory=dict)  # run id -> record, for files that verify
    unverified: list = field(default_factory=list)  # run ids whose file is there but does not verify


def saved_runs(runs_dir: Path, points: Iterable[Point], fingerprint: str) -> Saved:
    """The results already on disk for these points; files that do not verify are listed apart."""
    saved = Saved()
    for point in points:
        path = Path(runs_dir) / f"{point.run_id}.json"
        if not path.exists():
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if unverified_reason(record, point, fingerprint) is None:
            saved.records[point.run_id] = record
        else:
            saved.unverified.append(point.run_id)
    return saved


def remove_temporaries(runs_dir: Path) -> None:
    """Delete half-written files that a killed sweep left (atomic_write's temporaries)."""
    for leftover in Path(runs_dir).glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def execute(
    points: list[Point],
    runs_dir: Path,
    fingerprint: str,
    executor=None,
    on_done: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Run the points that have no verified result saved; return all results in point order.

    Each result is checked (every number in its domain) and saved, stamped
    with the experiment's `fingerprint`, before `on_done` hears of it.
    """
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    remove_temporaries(runs_dir)
    records = saved_runs(runs_dir, points, fingerprint).records
    pending = [point for point in points if point.run_id not in records]
    # closing(): an interrupted sweep stops its executor's iterator at once,
    # which cancels the runs still queued.
    with closing((executor or InProcess()).imap(pending)) as finished:
        for record in finished:
            _save({**record, "fingerprint": fingerprint}, runs_dir, records, on_done)
    return [records[point.run_id] for point in points]


def _save(record: dict, runs_dir: Path, records: dict, on_done) -> None:
    """Check and save one finished run, then tell `on_done`."""
    check_record(record)
    text = json.dumps(record, sort_keys=True)
    atomic_write(runs_dir / f"{record['run_id']}.json", text)
    # Keep what a later resume would read, so both build the same tables.
    records[record["run_id"]] = json.loads(text)
    if on_done:
        on_done(record)
