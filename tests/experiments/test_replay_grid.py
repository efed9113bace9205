"""`kvsim replay`'s grid: sizes as shares of the footprint, several traces, workers, Dask, --out, resume."""

import json

import numpy as np
import pandas as pd
import pytest

from experiments.analysis import replay
from experiments.cli import main
from experiments.config.checks import Capacity
from experiments.trace.grid import Cell, Grid, cell_cost, plan_tasks
from experiments.trace.inputs import TraceFile
from policies import make_policy
from tests.experiments.conftest import kvsim
from tests.experiments.test_executors import dask_scheduler  # noqa: F401  (a fixture)
from tests.trace_files import zipf_keys
from workloads.traces import footprint, write_trace


def write_traces(folder, count=3, n=8000, compression=".zst"):
    """`count` Zipf traces of different skew with sizes, as oracleGeneral files; their keys and sizes."""
    folder.mkdir(exist_ok=True)
    made = {}
    for index in range(count):
        keys = zipf_keys(n, keys=1500 + 300 * index, alpha=0.7 + 0.2 * index, seed=index)
        sizes = (keys % 37 + 1) * 64
        path = write_trace(folder / f"t{index}.oracleGeneral{compression}", keys, sizes, np.arange(n))
        made[path] = (keys, sizes)
    return made


def reference(policy, capacity, keys, sizes, count_bytes=False):
    counts = replay(make_policy(policy, capacity), keys, sizes, count_bytes)
    return counts.misses


def run_json(capsys, *args):
    assert main(["replay", *map(str, args), "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_shares_of_the_footprint_are_computed_first_and_said(tmp_path, capsys):
    (path, (keys, sizes)), *_ = write_traces(tmp_path / "t", count=1).items()
    found = footprint(path)
    rows, notes = run_json(capsys, path, "--policy", "lru,fifo", "--capacity", "0.5%,10%,5%B", "--workers", "1")
    objects, bytes_ = found.objects, found.bytes
    assert f"{found.requests:,} requests, {objects:,} distinct objects, {bytes_:,} distinct bytes" in notes
    assert f"10% = {round(objects * 0.1):,} objects" in notes and f"5%B = {round(bytes_ * 0.05):,} bytes" in notes
    expected_sizes = {"0.5%": round(objects * 0.005), "10%": round(objects * 0.1), "5%B": round(bytes_ * 0.05)}
    assert [(r["policy"], r["capacity"]) for r in rows] == [
        (p, c) for p in ("lru", "fifo") for c in ("0.5%", "10%", "5%B")
    ]
    for row in rows:
        assert row["size"] == expected_sizes[row["capacity"]]
        count_bytes = row["capacity"].endswith("B")
        assert row["unit"] == ("bytes" if count_bytes else "objects")
        assert row["misses"] == reference(row["policy"], row["size"], keys, sizes, count_bytes)


def test_footprint_counts_distinct_objects_and_first_sizes(tmp_path):
    keys = np.array([5, 7, 5, 9, 7, 5])
    sizes = np.array([10, 20, 10, 30, 20, 10])
    path = write_trace(tmp_path / "tiny.csv", keys, sizes)
    assert (footprint(path).requests, footprint(path).objects, footprint(path).bytes) == (6, 3, 60)


def test_parallel_grid_equals_the_sequential_one_exactly(tmp_path, capsys):
    traces = write_traces(tmp_path / "t", count=2)
    args = [tmp_path / "t", "--policy", "lru,s3fifo,arc,wtinylfu", "--capacity", "1%,5%,10%,25%,50%"]
    sequential, _ = run_json(capsys, *args, "--workers", "1")
    parallel, _ = run_json(capsys, *args, "--workers", "2")
    assert parallel == sequential
    assert len(sequential) == 2 * 4 * 5  # fifo is added only for the across-trace figure of --out
    for row in sequential[:20]:
        keys, sizes = traces[tmp_path / "t" / "t0.oracleGeneral.zst"]
        assert row["trace"].endswith("t0.oracleGeneral.zst")
        assert row["misses"] == reference(row["policy"], row["size"], keys, sizes)


def test_compressed_traces_replay_as_the_plain_ones(tmp_path, capsys):
    for compression in ("", ".zst", ".gz", ".xz", ".bz2"):
        write_traces(tmp_path / f"t{compression or '.plain'}", count=1, n=5000, compression=compression)
    results = {}
    for folder in sorted(tmp_path.iterdir()):
        rows, _ = run_json(
            capsys, folder, "--policy", "lru,sieve,wtinylfu", "--capacity", "50,1%,300", "--workers", "1"
        )
        results[folder.name] = [(r["policy"], r["capacity"], r["hits"], r["misses"]) for r in rows]
    assert len(set(map(tuple, results.values()))) == 1, results


def test_each_trace_is_read_at_most_once_per_worker():
    sources = tuple(TraceFile(f"t{i}.bin") for i in range(3))
    sizes = (Capacity.objects(1), Capacity.objects(2))
    grid = Grid(sources, ("a", "b", "c"), ("lru", "fifo"), sizes, 0)
    cells = [Cell(t, "abc"[t], p, c, c, False, f"{t}{p}{c}") for t in range(3) for p in ("lru", "fifo") for c in (1, 2)]
    for workers in (1, 2, 4, 8):
        tasks = plan_tasks(grid, cells, workers)
        reads = {source: sum(task.source is source for task in tasks) for source in sources}
        assert all(1 <= count <= workers for count in reads.values())
        assert sorted(cell.id for task in tasks for cell in task.cells) == sorted(cell.id for cell in cells)
    assert len(plan_tasks(grid, cells, 1)) == 3  # one read per trace on one worker
    # One trace on two workers: two reads, each policy and each size in both (a Latin square).
    one = plan_tasks(Grid(sources[:1], ("a",), ("lru", "fifo"), sizes, 0), cells[:4], 2)
    assert [[(c.policy, c.amount) for c in task.cells] for task in one] == [
        [("lru", 1), ("fifo", 2)],
        [("lru", 2), ("fifo", 1)],
    ]


def test_the_groups_of_a_trace_are_balanced_by_the_policies_costs():
    policies, amounts = ("lru", "s3fifo", "arc", "wtinylfu"), (10, 100, 1000, 10_000, 100_000)
    sizes = tuple(Capacity.objects(amount) for amount in amounts)
    grid = Grid((TraceFile("t.bin"),), ("t",), policies, sizes, 0)
    cells = [Cell(0, "t", p, c, c, False, f"{p}{c}") for p in policies for c in amounts]
    tasks = plan_tasks(grid, cells, 2)
    loads = [sum(cell_cost(cell) for cell in task.cells) for task in tasks]
    assert len(tasks) == 2 and sum(loads) == 5 * (1 + 1.4 + 1.4 + 3.5)
    assert abs(loads[0] - loads[1]) <= 1.0  # dealt by policy and size alone: 17 against 19.5
    assert sorted(sum(c.policy == "wtinylfu" for c in task.cells) for task in tasks) == [2, 3]
    for task in tasks:  # each task's cells in the grid's order
        assert [cells.index(c) for c in task.cells] == sorted(cells.index(c) for c in task.cells)


def test_out_writes_the_table_figures_and_the_across_trace_reduction(tmp_path, capsys):
    write_traces(tmp_path / "t", count=3)
    out = tmp_path / "out"
    assert (
        main(
            [
                "replay",
                str(tmp_path / "t"),
                "--policy",
                "lru,s3fifo",
                "--capacity",
                "1%,10%",
                "--out",
                str(out),
                "--workers",
                "2",
            ]
        )
        == 0
    )
    said = capsys.readouterr().out
    assert "fifo added" in said and "18 replays from" in said
    table = pd.read_csv(out / "replay.csv", dtype={"capacity": str})
    assert list(table.columns) == [
        "trace",
        "policy",
        "capacity",
        "size",
        "unit",
        "requests",
        "hits",
        "misses",
        "miss_ratio",
        "byte_miss_ratio",
        "engine",
    ]
    assert len(table) == 3 * 3 * 2 and set(table["policy"]) == {"lru", "s3fifo", "fifo"}
    reduction = pd.read_csv(out / "reduction.csv", dtype={"capacity": str})
    for _, row in reduction.iterrows():
        mine = table[(table["policy"] == row["policy"]) & (table["capacity"] == row["capacity"])].set_index("trace")
        fifo = table[(table["policy"] == "fifo") & (table["capacity"] == row["capacity"])].set_index("trace")
        values = ((fifo["miss_ratio"] - mine["miss_ratio"]) / fifo["miss_ratio"]).to_numpy()
        for q in (10, 25, 50, 75, 90):
            assert row[f"p{q}"] == pytest.approx(np.percentile(values, q), abs=1e-12)
        assert row["traces"] == 3
    assert set(reduction["policy"]) == {"lru", "s3fifo"}
    for name in ("miss_ratio", "reduction"):
        assert (out / f"{name}.png").stat().st_size > 10_000 and (out / f"{name}.svg").exists()
    manifest = json.loads((out / "replay.json").read_text())
    assert manifest["replay"]["capacities"] == ["1%", "10%"] and len(manifest["footprints"]) == 3
    # kvsim plot redraws the same figures, byte for byte.
    before = (out / "reduction.svg").read_bytes()
    (out / "reduction.svg").unlink()
    assert main(["plot", str(out)]) == 0
    assert (out / "reduction.svg").read_bytes() == before


def test_a_grid_resumes_what_is_missing_and_gives_the_same_table(tmp_path):
    write_traces(tmp_path / "t", count=2, n=4000)
    out = tmp_path / "out"
    args = ["replay", tmp_path / "t", "--policy", "lru,fifo", "--capacity", "2%,20%", "--out", out, "--workers", "1"]
    first = kvsim(*args)
    assert first.returncode == 0, first.stderr
    table = (out / "replay.csv").read_bytes()
    cells = sorted(path for path in (out / "runs").glob("replay-*.json") if "footprint" not in path.name)
    assert len(cells) == 8 and len(list((out / "runs").glob("replay-footprint-*.json"))) == 2
    cells[0].unlink()  # lost
    cells[1].write_text('{"id": "x", "row": {}}')  # damaged
    again = kvsim(*args)
    assert again.returncode == 0, again.stderr
    assert "2 replays from" in again.stdout and "6 resumed" in again.stdout
    assert (out / "replay.csv").read_bytes() == table
    # More sizes: only the new cells are replayed.
    more = kvsim(*args[:-5], "2%,20%,50%", "--out", out, "--workers", "1")
    assert more.returncode == 0 and "4 replays from" in more.stdout and "8 resumed" in more.stdout
    # --force starts from nothing.
    forced = kvsim(*args, "--force")
    assert forced.returncode == 0 and "8 replays from" in forced.stdout
    assert (out / "replay.csv").read_bytes() == table


def test_a_grid_on_dask_equals_the_local_one(tmp_path, capsys, dask_scheduler):  # noqa: F811
    write_traces(tmp_path / "t", count=2, n=4000)
    args = [tmp_path / "t", "--policy", "lru,clock", "--capacity", "1%,30%"]
    local, _ = run_json(capsys, *args, "--workers", "1")
    done = kvsim("replay", *args, "--scheduler", dask_scheduler, "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == local


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        ("150%", "--capacity: a share of the footprint is a percentage in (0%, 100%]"),
        ("0%", "got '0%'"),
        ("ten%", "got 'ten%'"),
        ("1%,", None),
    ],
)
def test_bad_shares_are_one_line(tmp_path, capsys, capacity, message):
    (path, _), *_ = write_traces(tmp_path / "t", count=1, n=500).items()
    code = main(["replay", str(path), "--policy", "lru", "--capacity", capacity, "--json"])
    captured = capsys.readouterr()
    if message is None:
        assert code == 0
        return
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err


def test_bad_folders_and_traces_are_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("no trace here")
    assert main(["replay", str(empty), "--policy", "lru", "--capacity", "1%"]) == 2
    assert "a folder without trace files" in capsys.readouterr().err
    blank = tmp_path / "blank.oracleGeneral.zst"
    blank.write_bytes(b"")
    out = tmp_path / "out"
    assert main(["replay", str(blank), "--policy", "lru", "--capacity", "1%", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "blank.oracleGeneral.zst: empty file" in err
    assert not out.exists()
    (path, _), *_ = write_traces(tmp_path / "t", count=1, n=500).items()
    truncated = tmp_path / "cut.oracleGeneral.zst"
    truncated.write_bytes(path.read_bytes()[:-40])
    assert main(["replay", str(truncated), "--policy", "lru", "--capacity", "1%", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cut.oracleGeneral.zst" in err and "record" in err
    assert not any(out.glob("*.csv"))


def test_a_folder_of_another_kind_is_refused_without_force(tmp_path, capsys):
    (path, _), *_ = write_traces(tmp_path / "t", count=1, n=500).items()
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    assert main(["replay", str(path), "--policy", "lru", "--capacity", "10", "--out", str(out)]) == 2
    assert "holds an experiment's results" in capsys.readouterr().err
    assert main(["replay", str(path), "--policy", "lru", "--capacity", "10", "--out", str(out), "--force"]) == 0
    assert (out / "replay.csv").exists() and (out / "manifest.json").read_text() == "{}"
