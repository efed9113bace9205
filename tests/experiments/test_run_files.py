"""A run file is the user's to damage: every field is checked on load, and a bad one is simulated again.

A run file (DIR/runs/<run id>.json) holds a run's metrics, its nodes' rows,
its time series, its latency quantiles and histogram.  What reads it (the
tables, the summary, the figures) must meet only numbers where numbers
belong: a metric written as text, a NaN, a node missing, a histogram whose
buckets lie beyond any float, each makes the file fail to verify, and the
run is simulated again, never a traceback in the summary.
"""

from __future__ import annotations

import copy
import json
import math
import shutil

import pytest

from experiments.config import resolve
from experiments.config.sweep import fingerprint, points
from experiments.execute.executors import run_point
from experiments.execute.runs import digest, unverified_reason
from tests.experiments.conftest import kvsim

CONFIG = {
    "name": "files",
    "run": {"requests": 500, "warmup": 100, "seeds": [1]},
    "workload": {"keys": 200},
    "cluster": {"nodes": 2, "capacity": 20},
}

#: how a field is damaged: its value replaced by each of these (or the field deleted)
DAMAGES = {
    "text": lambda value: str(value),
    "null": lambda value: None,
    "list": lambda value: [value],
    "true": lambda value: True,
    "negative": lambda value: -1,
    "nan": lambda value: math.nan,
    "inf": lambda value: math.inf,
    "beyond int64": lambda value: 2**70,
}


@pytest.fixture(scope="module")
def genuine():
    """A real run's record as its file holds it (JSON round trip), with its point and fingerprint."""
    experiment = resolve(CONFIG)
    point = points(experiment)[0]
    stamp = fingerprint(experiment)
    record = {**run_point(point), "fingerprint": stamp}
    record = json.loads(json.dumps({**record, "digest": digest(record)}, sort_keys=True))
    return record, point, stamp


def field_paths(record: dict) -> list[tuple]:
    """A path to every number of a record (and the engine's name): ("metrics", "hit_ratio"), ("nodes", 0, "share")..."""
    paths = [("metrics", name) for name in record["metrics"]]
    paths += [("nodes", index, name) for index, node in enumerate(record["nodes"]) for name in node]
    paths += [("timeseries", 0, name) for name in record["timeseries"][0]]
    paths += [("latency_quantiles", index) for index in (0, 50, len(record["latency_quantiles"]) - 1)]
    paths += [("latency_histogram", name) for name in ("zeros", "first")] + [("latency_histogram", "counts", 0)]
    return paths + [("engine",)]


def damaged(record: dict, path: tuple, damage) -> dict:
    """The record with one field damaged, and its digest made to match (as if forged): so that what
    catches the damage is the field's own check of type and domain, not the digest."""
    copy_ = copy.deepcopy(record)
    holder = copy_
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = damage(holder[path[-1]])
    return json.loads(json.dumps(resealed(copy_)))  # as a file would hold it (NaN and Infinity included)


def resealed(record: dict) -> dict:
    return {**record, "digest": digest(record)}


def test_the_genuine_record_verifies(genuine):
    record, point, stamp = genuine
    assert unverified_reason(record, point, stamp) is None


@pytest.mark.parametrize("damage", DAMAGES)
def test_every_field_damaged_does_not_verify(genuine, damage):
    record, point, stamp = genuine
    unchanged = {("negative", ("latency_histogram", "first")), ("text", ("engine",))}  # still valid values
    for path in field_paths(record):
        if (damage, path) not in unchanged:
            reason = unverified_reason(damaged(record, path, DAMAGES[damage]), point, stamp)
            assert reason is not None, f"{'.'.join(map(str, path))} = {damage} verified"


def test_missing_and_extra_rows_and_fields_do_not_verify(genuine):
    record, point, stamp = genuine
    cases = {
        "a metric missing": lambda r: r["metrics"].pop("hit_ratio"),
        "a metric too many": lambda r: r["metrics"].update(extra=1),
        "a node missing": lambda r: r["nodes"].pop(),
        "nodes out of order": lambda r: r["nodes"].reverse(),
        "a quantile missing": lambda r: r["latency_quantiles"].pop(),
        "quantiles that fall": lambda r: r["latency_quantiles"].reverse(),
        "a time series row that ends before it starts": lambda r: r["timeseries"][0].update(t_end=-0.0, t_start=1.0),
        "a histogram beyond any float": lambda r: r["latency_histogram"].update(first=10**9),
        "a histogram count beyond int64": lambda r: r["latency_histogram"]["counts"].append(2**63),
        "an unknown engine": lambda r: r.update(engine="gpu"),
        "nodes as a table": lambda r: r.update(nodes={}),
        "metrics as a list": lambda r: r.update(metrics=[]),
    }
    for what, damage in cases.items():
        copy_ = copy.deepcopy(record)
        damage(copy_)
        assert unverified_reason(resealed(copy_), point, stamp) is not None, what


def test_an_edit_that_leaves_every_number_plausible_is_caught_by_the_digest(genuine):
    record, point, stamp = genuine
    edited = copy.deepcopy(record)
    edited["metrics"]["hit_ratio"] = 0.5 if record["metrics"]["hit_ratio"] != 0.5 else 0.25
    assert unverified_reason(resealed(edited), point, stamp) is None  # of its type, within its domain
    assert unverified_reason(edited, point, stamp) == "damaged: its content does not match its digest"


def test_damaged_run_files_are_simulated_again_and_the_tables_do_not_change(tmp_path, small_config, small_run):
    _, finished, done = small_run
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    shutil.copytree(finished, out)  # a copy of the session's finished run of small_config, to damage
    tables = {name: (out / name).read_bytes() for name in ("results.csv", "summary.csv", "nodes.csv", "latency.csv")}
    files = sorted((out / "runs").glob("*.json"))
    damages = [
        lambda r: r["metrics"].update(hit_ratio=str(r["metrics"]["hit_ratio"])),  # the example
        lambda r: r["nodes"][0].update(share=-1),
        lambda r: r["latency_histogram"].update(first=10**9),
        lambda r: r["latency_quantiles"].__setitem__(3, math.nan),
    ]
    for path, damage in zip(files, damages):
        record = json.loads(path.read_text())
        damage(record)
        path.write_text(json.dumps(record))
    done = kvsim("run", small_config, "--out", out, "--workers", "1")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "4 runs (4 simulated now)" in done.stdout
    assert "4 run files in" in done.stdout and "did not verify" in done.stdout
    assert {name: (out / name).read_bytes() for name in tables} == tables
