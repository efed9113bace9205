"""Run files: one per finished run, verified before it is trusted, so a sweep resumes.

Every run's result is written to DIR/runs/<run id>.json the moment it is
done, atomically (a temporary file renamed into place), so an interrupted
sweep loses at most the runs in progress, and running the same command again
runs only what is missing.  A run file carries its point's identity and the
experiment's fingerprint; one that does not verify against the point it
would stand for (another experiment's, a damaged one, numbers outside their
domain) is simulated again.  Records are kept as the JSON they round-trip
through, so a resumed sweep and a fresh one build byte-identical tables.

A run file is the user's to damage, so what is read back is checked twice:
its digest (blake2b of its content, written with it) must match, so that an
edit that leaves every number plausible (a hit ratio of 0.5 for 0.45) is
still caught; and every field must be of its type and within its domain
(`check_record`), so that nothing the tables and figures read can stop them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from experiments.config.sweep import Point
from experiments.execute.executors import InProcess
from experiments.output.domains import ResultError, check_numbers
from experiments.output.outdir import atomic_write
from sim import CDF_PROBABILITIES, METRICS
from sim.histogram import LatencyHistogram
from sim.metrics import TIMESERIES

#: the request loops a run may have run in (sim.engine)
ENGINES = ("compiled", "python")
#: the largest whole number a run file may hold: counts are int64 in the tables and the histograms
MAX_INTEGER = 2**62
#: each node's row of a run (sim.metrics.RunResult.nodes)
NODE_FIELDS = ("node", "requests", "share", "hit_ratio", "utilisation")


def check_record(record: dict, nodes: int | None = None) -> None:
    """Every field of a run's record of its type and within its domain (ResultError otherwise).

    Before a run is saved, and when a saved one is read back (with `nodes`,
    the point's node count): a run file is the user's to damage, and what
    reads it (the tables, the summary, the figures) must meet only numbers
    where numbers belong.  A metric written as text, a node missing, a
    quantile that is NaN or falls: each is a record that does not verify.
    """
    where = f"run {record['run_id']}"
    if record.get("engine") not in ENGINES:
        raise ResultError(f"{where}: engine must be one of {', '.join(ENGINES)}")
    _check_fields(record["metrics"], METRICS, f"{where}, metrics")
    rows = record["nodes"]
    if not isinstance(rows, list) or (nodes is not None and len(rows) != nodes):
        raise ResultError(f"{where}: nodes must be a list of {nodes or 'the'} nodes' rows")
    for index, node in enumerate(rows):
        _check_fields(node, NODE_FIELDS, f"{where}, node {index}")
        if node["node"] != index:
            raise ResultError(f"{where}: node rows must come in order; row {index} is node {node['node']}")
    if not isinstance(record["timeseries"], list):
        raise ResultError(f"{where}: timeseries must be a list of rows")
    for row in record["timeseries"]:
        _check_fields(row, TIMESERIES, f"{where}, time series")
        if row["t_end"] < row["t_start"]:
            raise ResultError(f"{where}: a time series row ends before it starts")
    quantiles = record["latency_quantiles"]
    if not isinstance(quantiles, list) or len(quantiles) != len(CDF_PROBABILITIES):
        raise ResultError(f"{where}: latency_quantiles must be a list of {len(CDF_PROBABILITIES)} latencies")
    _check_fields(dict(enumerate(quantiles)), range(len(quantiles)), f"{where}, latency quantiles", "latency_ms")
    if any(later < earlier for earlier, later in zip(quantiles, quantiles[1:])):
        raise ResultError(f"{where}: latency_quantiles must not decrease")
    try:
        LatencyHistogram.from_record(record["latency_histogram"])
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ResultError(f"{where}: latency_histogram is not a histogram of counts") from None


def _check_fields(values, names, where: str, domain_name: str | None = None) -> None:
    """`values` is a table of exactly `names`, each a number (int or float, not text) within its domain:
    the domain of its own name, or of `domain_name`."""
    if not isinstance(values, dict) or set(values) != set(names):
        raise ResultError(f"{where}: must hold exactly {', '.join(map(str, names))}")
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ResultError(f"{where}: {name} = {value!r} is not a number")
        if isinstance(value, int) and abs(value) > MAX_INTEGER:
            raise ResultError(f"{where}: {name} = {value} is beyond any count a run makes (2**62)")
        check_numbers({domain_name or name: value}, where)


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
    "latency_quantiles",
    "latency_histogram",
    "digest",
)


def digest(record: dict) -> str:
    """blake2b of a record's content (all but its digest), as its file holds it."""
    content = json.dumps({key: value for key, value in record.items() if key != "digest"}, sort_keys=True)
    return hashlib.blake2b(content.encode(), digest_size=12).hexdigest()


def unverified_reason(record, point: Point, fingerprint: str) -> str | None:
    """Why a saved run file is not `point`'s result in this experiment; None when it is."""
    if not isinstance(record, dict) or any(key not in record for key in RECORD_KEYS):
        return "not a complete run record"
    if record["digest"] != digest(record):
        return "damaged: its content does not match its digest"
    if record["fingerprint"] != fingerprint:
        return "written by another experiment (or another version of a policy module)"
    if (record["run_id"], record["index"], record["seed"]) != (point.run_id, point.index, point.seed):
        return "holds another run's results"
    if record["values"] != json.loads(json.dumps(point.values, default=str)):
        return "holds another sweep point's results"
    try:
        check_record(record, nodes=point.config.cluster.nodes)
    except ResultError as error:
        return f"holds a field of the wrong type or outside its domain ({error})"
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
        except (OSError, UnicodeDecodeError, ValueError):  # not JSON, or an integer of more than 4300 digits
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
    """Check and save one finished run (with its digest), then tell `on_done`."""
    check_record(record)
    text = json.dumps({**record, "digest": digest(record)}, sort_keys=True)
    atomic_write(runs_dir / f"{record['run_id']}.json", text)
    # Keep what a later resume would read, so both build the same tables.
    records[record["run_id"]] = json.loads(text)
    if on_done:
        on_done(record)
